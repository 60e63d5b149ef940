"""opsdoc template check: a company template linted against the model before its first build."""

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsdoc.cli import main
from opsdoc.generate.render import default_template
from tests.support import template_variant


def run(path: Path | None = None):
    return CliRunner().invoke(main, ["template", "check"] + ([str(path)] if path else []))


def codes(result) -> list[str]:
    return [line.split("[")[1].split("]")[0] for line in result.output.splitlines() if "[" in line]


def test_the_bundled_template_is_clean():
    result = run()
    assert result.exit_code == 0 and "0 个错误" in result.output


def test_every_unknown_name_is_listed_at_once(tmp_path):
    result = run(template_variant(tmp_path, ("{{ doc.customer_confirmer }}", "{{ customer }}{{ manager.name }}")))
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
    result = run(template_variant(tmp_path, ("{{ doc.customer_confirmer }}", new)))
    assert result.exit_code == 1 and codes(result) == [code]
    assert "客户确认人" in result.output  # the text around the tag


def test_missing_chapter_and_toc(tmp_path):
    result = run(template_variant(tmp_path, (">绩效考核<", ">考核<"), ("TOC \\o", "XE \\o")))
    assert result.exit_code == 1
    assert codes(result) == ["template-missing-chapter", "template-no-toc"]
    assert "第9章「绩效考核」" in result.output


def test_chapters_out_of_order(tmp_path):
    result = run(
        template_variant(tmp_path, (">工作规范<", ">临时<"), (">绩效考核<", ">工作规范<"), (">临时<", ">绩效考核<"))
    )
    assert codes(result) == ["template-chapter-order"]


def test_not_a_template(tmp_path):
    (tmp_path / "t.docx").write_bytes(b"plain text")
    result = run(tmp_path / "t.docx")
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize(
    "part, old, where",
    [
        ("word/header2.xml", "{{ doc.file_code }}", "页眉"),
        ("word/footer2.xml", "{{ doc.version }}", "页脚"),
    ],
)
def test_an_unknown_name_in_a_header_or_footer_is_found_there(tmp_path, part, old, where):
    result = run(template_variant(tmp_path, (old, "{{ nope }}"), part=part))
    assert result.exit_code == 1
    assert codes(result) == ["template-unknown-name"]
    assert result.output.startswith(f"{where}「nope」  错误 [template-unknown-name]")


def test_a_syntax_error_in_a_footer_is_found_there(tmp_path):
    result = run(template_variant(tmp_path, ("{{ doc.version }}", "{{ doc.version "), part="word/footer2.xml"))
    assert result.exit_code == 1 and codes(result) == ["template-syntax"]
    assert result.output.startswith("页脚  错误 [template-syntax]")


def test_a_footnote_is_read_too(tmp_path):
    """A footnote part, as Word adds it, with a tag docxtpl renders there."""
    path = tmp_path / "公司模板.docx"
    footnotes = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:footnote w:id="1"><w:p><w:r><w:t>{{ doc.nope }}{{ nowhere }}</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    )
    relationship = (
        '<Relationship Id="rIdFootnotes" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/footnotes" Target="footnotes.xml"/></Relationships>'
    )
    content_type = (
        '<Override PartName="/word/footnotes.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(default_template()) as source, zipfile.ZipFile(buffer, "w") as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", relationship.encode())
            elif entry.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", content_type.encode())
            target.writestr(entry, data)
        target.writestr("word/footnotes.xml", footnotes)
    path.write_bytes(buffer.getvalue())
    result = run(path)
    assert result.exit_code == 1 and codes(result) == ["template-unknown-name"]
    assert result.output.startswith("脚注「nowhere」")


@pytest.mark.parametrize("new", ["{{ doc.customer_confirmer|safe }}", "{% autoescape false %}x{% endautoescape %}"])
def test_turning_escaping_off_is_reported(tmp_path, new):
    result = run(template_variant(tmp_path, ("{{ doc.customer_confirmer }}", new)))
    assert result.exit_code == 1 and codes(result) == ["template-unescaped"]


def test_a_damaged_header_is_an_error_not_an_empty_report(tmp_path):
    result = run(template_variant(tmp_path, ("<w:hdr ", "<w:hdr <"), part="word/header2.xml"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "0 个错误" not in result.output
