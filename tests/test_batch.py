"""Batch builds, and the dumped context that a bare docxtpl render needs."""

import json
import shutil
import zipfile

import docx
from click.testing import CliRunner
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

from opsdoc.cli import main
from opsdoc.generate.render import default_template
from tests.support import SAMPLE, edit_sample


def _texts(path):
    document = docx.Document(path)
    body = [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return body + cells


def test_dumped_context_is_all_a_bare_docxtpl_render_needs(tmp_path):
    result = CliRunner().invoke(
        main, ["build", str(SAMPLE), "-o", str(tmp_path), "--dump-context", str(tmp_path / "context.json")]
    )
    assert result.exit_code == 0, result.output
    context = json.loads((tmp_path / "context.json").read_text(encoding="utf-8"))
    bare = DocxTemplate(str(default_template()))
    bare.render(context, jinja_env=SandboxedEnvironment(autoescape=True), autoescape=True)
    bare.save(tmp_path / "bare.docx")
    (built,) = tmp_path.glob("QT-*.docx")
    assert _texts(tmp_path / "bare.docx") == _texts(built)


def test_batch_builds_a_folder_reports_each_and_keeps_going(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "a.xlsx")
    edit_sample(folder, {"文档信息!B3": "QT-YW-GF-BH02-001"}, name="b.xlsx")
    edit_sample(folder, {"绩效考核!B2": 35}, name="c.xlsx")  # weights add up to 105
    (folder / "d.xlsx").write_bytes(b"not a workbook")
    (folder / "~$a.xlsx").write_bytes(b"Excel's lock file")
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(main, ["build", str(folder), "-o", str(out), "--jobs", jobs])
        assert result.exit_code == 2, result.output  # the worst outcome: d.xlsx cannot be read
        marks = {line.split()[1].split("：")[0]: line[0] for line in result.output.splitlines() if line[:1] in "✓✗"}
        assert marks == {
            str(folder / "a.xlsx"): "✓",
            str(folder / "b.xlsx"): "✓",
            str(folder / "c.xlsx"): "✗",
            str(folder / "d.xlsx"): "✗",
        }
        assert f"✗ {folder / 'c.xlsx'}：1 个错误，未生成" in result.output
        assert sorted(p.name.split("_")[0] for p in out.iterdir()) == ["QT-YW-GF-BH01-001", "QT-YW-GF-BH02-001"]
        assert "共 4 个工作簿：成功 2，有错误未生成 1，无法读取或写入 1" in result.output


def test_two_workbooks_racing_for_one_name_never_overwrite(tmp_path):
    first = edit_sample(tmp_path, name="a.xlsx")
    second = edit_sample(tmp_path, {"项目背景!B1": "另一份内容。"}, name="b.xlsx")
    result = CliRunner().invoke(main, ["build", str(first), str(second), "-o", str(tmp_path / "out"), "--jobs", "2"])
    assert result.exit_code == 3, result.output
    assert result.output.count("✓") == 1 and "已发布的版本" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_dump_context_is_for_one_workbook(tmp_path):
    result = CliRunner().invoke(main, ["build", str(SAMPLE), str(SAMPLE), "--dump-context", str(tmp_path / "c.json")])
    assert result.exit_code == 2 and "只能用于单个工作簿" in result.output


def test_a_workbook_that_kills_its_worker_is_reported_and_the_others_are_built(tmp_path, monkeypatch):
    """A worker killed mid-build (a native crash, the OOM killer) loses no other workbook."""
    import os
    import signal

    import opsdoc.pipeline

    real_build = opsdoc.pipeline.build

    def build_or_die(source, out_dir, options):  # the workers are forked: they inherit this
        if source.name == "crash.xlsx":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_build(source, out_dir, options)

    monkeypatch.setattr(opsdoc.pipeline, "build", build_or_die)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "a.xlsx")
    shutil.copyfile(SAMPLE, folder / "crash.xlsx")
    edit_sample(folder, {"文档信息!B3": "QT-YW-GF-BH02-001"}, name="b.xlsx")
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(tmp_path / "out"), "--jobs", "2"])
    assert result.exit_code == 2
    assert f"✗ {folder / 'crash.xlsx'}：处理该工作簿时进程异常退出" in result.output
    assert "成功 2" in result.output
    assert sorted(p.name[:17] for p in (tmp_path / "out").iterdir()) == ["QT-YW-GF-BH01-001", "QT-YW-GF-BH02-001"]


def test_a_worker_stopped_mid_write_by_a_dying_neighbour_leaves_no_temporary_file(tmp_path, monkeypatch):
    """When one worker dies the pool terminates the others; one caught writing removes its temporary file."""
    import os
    import signal
    import time

    import opsdoc.office.output
    import opsdoc.pipeline

    real_build, real_link = opsdoc.pipeline.build, os.link
    first_write = tmp_path / "first-write"

    def build_or_die(source, out_dir, options):
        if source.name == "crash.xlsx":
            time.sleep(1.5)  # until the other worker holds its temporary file
            os.kill(os.getpid(), signal.SIGKILL)
        return real_build(source, out_dir, options)

    def slow_link(src, dst):  # a new name is linked into place (write_atomic, replace=False)
        if not first_write.exists():  # the first write stalls until the pool terminates the worker
            first_write.touch()
            time.sleep(30)
        real_link(src, dst)

    monkeypatch.setattr(opsdoc.pipeline, "build", build_or_die)
    monkeypatch.setattr(opsdoc.office.output.os, "link", slow_link)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "a.xlsx")
    shutil.copyfile(SAMPLE, folder / "crash.xlsx")
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(tmp_path / "out"), "--jobs", "2"])
    assert first_write.exists()
    assert result.exit_code == 2 and "成功 1" in result.output
    assert [p.name[:17] for p in (tmp_path / "out").iterdir()] == ["QT-YW-GF-BH01-001"]


def test_a_batch_with_an_unusable_template_reports_it_for_each_workbook(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "a.xlsx")
    edit_sample(folder, {"文档信息!B3": "QT-YW-GF-BH02-001"}, name="b.xlsx")
    template = tmp_path / "公司模板.docx"
    with zipfile.ZipFile(template, "w") as package:  # a zip, but no Word document inside
        package.writestr(
            "[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
        )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", str(folder), "-o", str(out), "--jobs", "2", "--template", str(template)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.count("模板不是可用的 Word 文档") == 2, result.output
    assert not out.exists() or not list(out.iterdir())
