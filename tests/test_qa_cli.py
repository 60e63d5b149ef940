"""The QA commands as users run them: verify, diff and build --pdf."""

import json

from click.testing import CliRunner

import opsdoc.generate.pdf
from opsdoc.api import build
from opsdoc.cli import main
from tests.support import P1_FASTER, SAMPLE, SAMPLE_DOCX, corrupt_deflate, edit_sample, uno_python


def test_verify_passes_the_sample_and_fails_a_broken_copy(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(SAMPLE_DOCX), "--workbook", str(SAMPLE)])
    assert ok.exit_code == 0 and "0 个错误" in ok.output
    other = build(edit_sample(tmp_path, {"项目背景!B1": "另一个项目的背景。"}), tmp_path / "out").output
    lost = runner.invoke(main, ["verify", str(other), "--workbook", str(SAMPLE), "--format", "json"])
    assert lost.exit_code == 1
    findings = json.loads(lost.output)["findings"]
    assert [(f["code"], f["cell"]) for f in findings] == [("value-missing", "项目背景!B1")]


def test_verify_refuses_what_is_not_a_docx(tmp_path):
    (tmp_path / "x.docx").write_text("hello")
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "x.docx")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_verify_says_a_docx_with_a_corrupt_part_is_damaged(tmp_path):
    damaged = corrupt_deflate(SAMPLE_DOCX, "word/document.xml", 0.002, tmp_path / "damaged.docx")
    result = CliRunner().invoke(main, ["verify", str(damaged)])
    assert result.exit_code == 2 and "已损坏" in result.output and "内部错误" not in result.output, result.output


def test_diff_names_the_changes_and_summarises_them(tmp_path):
    new = build(edit_sample(tmp_path, P1_FASTER), tmp_path / "out").output
    result = CliRunner().invoke(main, ["diff", str(SAMPLE_DOCX), str(new)])
    assert result.exit_code == 0, result.output
    assert "服务级别协议 修改 P1 响应时间" in result.output and "P1响应时间由15分钟调整为10分钟" in result.output


def test_build_pdf_without_libreoffice_says_how_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(opsdoc.generate.pdf.shutil, "which", lambda name: None)
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path / "out"), "--pdf"])
    assert result.exit_code == 2 and "apt-get install" in result.output and "libreoffice" in result.output
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_build_pdf_writes_both_and_the_docx_toc_has_page_numbers(tmp_path):
    uno_python()
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path), "--pdf"])
    assert result.exit_code == 0, result.output
    assert "正在更新目录" in result.output
    (docx_file,) = tmp_path.glob("*.docx")
    assert docx_file.with_suffix(".pdf").is_file()
    import docx

    toc = [p.text for p in docx.Document(docx_file).paragraphs if p.style.style_id == "TOC1"]
    assert toc[0].startswith("1\u3000项目背景") and toc[0].rstrip().endswith("\t1")  # chapter 1 is page 1
    again = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path), "--pdf"])
    assert again.exit_code == 0 and again.output.count("内容相同") == 2  # .docx and PDF are reproducible
