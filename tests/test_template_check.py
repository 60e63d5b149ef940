"""opsdoc template check: a company template linted against the model before its first build."""

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsdoc.cli import main
from opsdoc.generate.render import default_template


def variant(tmp_path: Path, *replacements) -> Path:
    path = tmp_path / "公司模板.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(default_template()) as source, zipfile.ZipFile(buffer, "w") as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "word/document.xml":
                text = data.decode()
                for old, new in replacements:
                    assert old in text, old
                    text = text.replace(old, new, 1)
                data = text.encode()
            target.writestr(entry, data)
    path.write_bytes(buffer.getvalue())
    return path


def run(path: Path | None = None):
    return CliRunner().invoke(main, ["template", "check"] + ([str(path)] if path else []))


def codes(result) -> list[str]:
    return [line.split("[")[1].split("]")[0] for line in result.output.splitlines() if "[" in line]


def test_the_bundled_template_is_clean():
    result = run()
    assert result.exit_code == 0 and "0 个错误" in result.output


def test_every_unknown_name_is_listed_at_once(tmp_path):
    result = run(variant(tmp_path, ("{{ doc.customer_confirmer }}", "{{ customer }}{{ manager.name }}")))
    assert result.exit_code == 1
    assert codes(result) == ["template-unknown-name", "template-unknown-name"]
    assert "「customer」" in result.output and "「manager」" in result.output


@pytest.mark.parametrize(
    "new, code",
    [
        ("{{ doc.nope }}", "template-unknown-name"),
        ("{{ doc.customer_confirmer ", "template-syntax"),
        ("{{ doc.title.__class__ }}", "template-unsafe"),
    ],
)
def test_render_problems_are_findings_with_the_place(tmp_path, new, code):
    result = run(variant(tmp_path, ("{{ doc.customer_confirmer }}", new)))
    assert result.exit_code == 1 and codes(result) == [code]
    assert "客户确认人" in result.output  # the text around the tag


def test_missing_chapter_and_toc(tmp_path):
    result = run(variant(tmp_path, (">绩效考核<", ">考核<"), ("TOC \\o", "XE \\o")))
    assert result.exit_code == 1
    assert codes(result) == ["template-missing-chapter", "template-no-toc"]
    assert "第9章「绩效考核」" in result.output


def test_chapters_out_of_order(tmp_path):
    result = run(variant(tmp_path, (">工作规范<", ">临时<"), (">绩效考核<", ">工作规范<"), (">临时<", ">绩效考核<")))
    assert codes(result) == ["template-chapter-order"]


def test_not_a_template(tmp_path):
    (tmp_path / "t.docx").write_bytes(b"plain text")
    result = run(tmp_path / "t.docx")
    assert result.exit_code == 2 and "Traceback" not in result.output
