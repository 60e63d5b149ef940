"""opsdoc redline: the 对比稿 of a realistic V2.1 against V2.0, checked in LibreOffice as the real client.

Accepting every change must give V2.1's text and rejecting every change V2.0's, paragraph by
paragraph and cell by cell; both sides are re-saved by LibreOffice too, so its own rewriting
(a page break for pageBreakBefore) is on both sides of the comparison.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from opsdoc.api import FileKind, build
from opsdoc.cli import main
from opsdoc.errors import UnusableDocument
from opsdoc.office.docx_text import Table, read_document
from opsdoc.qa.diff import diff_documents
from opsdoc.qa.redline import redline
from tests.support import NEW_VERSION, P1_FASTER, SAMPLE, corrupt_deflate, edit_sample, soffice, uno_python

HELPER = Path(__file__).with_name("uno_revisions.py")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _v21_changes() -> dict:
    background = openpyxl.load_workbook(SAMPLE)["项目背景"]["B1"].value
    first = background.split("\n")[0]
    return {
        **NEW_VERSION,
        **P1_FASTER,
        "项目背景!B1": background.replace(first, first.replace("三级甲等综合医院", "三级甲等综合性医院")),
        "服务目录!A14": "SC-13",
        "服务目录!B14": "安全",
        "服务目录!C14": "等保测评配合",
        "服务目录!D14": "配合年度等保测评，提供资产清单和整改记录",
        "服务目录!E14": "现场",
        "服务目录!F14": "5×8",
        "服务目录!G14": "P3",
        "服务目录!H14": "整改报告",
    }


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> tuple[Path, Path, Path]:
    """V2.0 and V2.1 (a catalogue row added and one removed, P1 10 minutes, 项目背景 edited, a history row) and the workbook."""
    folder = tmp_path_factory.mktemp("versions")
    old = build(SAMPLE, folder / "v20").output
    workbook = edit_sample(folder, _v21_changes(), delete_rows=[("服务目录", 5)], name="我的项目.xlsx")
    new = build(workbook, folder / "v21").output
    assert old and new
    return old, new, workbook


@pytest.fixture(scope="module")
def marked(versions, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("redline") / "对比稿.docx"
    path.write_bytes(redline(versions[0], versions[1]).data)
    return path


@pytest.fixture(scope="module")
def in_libreoffice(versions, marked, tmp_path_factory) -> dict[str, Path]:
    """The 对比稿 with all changes accepted and rejected, and both versions re-saved: one LibreOffice run."""
    return libreoffice(
        tmp_path_factory.mktemp("libreoffice"),
        {
            "accepted": (marked, "accept"),
            "rejected": (marked, "reject"),
            "new": (versions[1], "keep"),
            "old": (versions[0], "keep"),
        },
    )


def libreoffice(folder: Path, jobs: dict[str, tuple[Path, str]]) -> dict[str, Path]:
    """Each (source, accept|reject|keep) done in one LibreOffice run, stored as folder/NAME.docx."""
    uno_python()
    arguments = [str(a) for name, (source, action) in jobs.items() for a in (source, action, folder / f"{name}.docx")]
    subprocess.run(
        ["/usr/bin/python3", "-I", str(HELPER), soffice(), str(folder / "profile"), *arguments],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return {name: folder / f"{name}.docx" for name in jobs}


def texts(path: Path) -> list[tuple]:
    """Every body paragraph and every table cell, in order (the TOC lines left out: LibreOffice rewrites them),
    the control status read as one word: a 对比稿 says 对比稿 where the versions say 受控, and nothing else differs."""
    found: list[tuple] = []
    for block in read_document(path).body:
        if isinstance(block, Table):
            found += [
                ("cell", block.number, r, c, _status(text))
                for r, row in enumerate(block.rows)
                for c, text in enumerate(row)
            ]
        elif not block.is_toc_entry:
            found.append(("paragraph", _status(block.text)))
    return found


def _status(text: str) -> str:
    return text.replace("对比稿", "受控")


def test_accepting_all_gives_the_new_version_and_rejecting_all_the_old(in_libreoffice):
    assert texts(in_libreoffice["accepted"]) == texts(in_libreoffice["new"])
    assert texts(in_libreoffice["rejected"]) == texts(in_libreoffice["old"])
    assert texts(in_libreoffice["accepted"]) != texts(in_libreoffice["rejected"])


def _body(path: Path):
    from lxml import etree

    return etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).find(W + "body")


def test_the_changed_p1_row_is_a_change_inside_that_row(marked):
    p1 = next(r for r in _body(marked).iter(W + "tr") if "".join(r.find(W + "tc").itertext()).strip() == "P1")
    assert p1.find(f"{W}trPr/{W}ins") is None and p1.find(f"{W}trPr/{W}del") is None
    deleted = ["".join(d.itertext()) for d in p1.iter(W + "del")]
    inserted = ["".join(i.itertext()) for i in p1.iter(W + "ins")]
    assert (deleted, inserted) == (["15"], ["10"])  # a number changes whole, never digit by digit


def test_a_date_changes_whole_one_deletion_and_one_insertion(marked):
    """实施日期 2026年9月15日 → 2026年10月20日: not 9̶10月1̶5̶20日."""
    row = next(r for r in _body(marked).iter(W + "tr") if "实施日期" in "".join(r.itertext()))
    deleted = ["".join(d.itertext()) for d in row.iter(W + "del")]
    inserted = ["".join(i.itertext()) for i in row.iter(W + "ins")]
    assert (deleted, inserted) == (["2026年9月15日"], ["2026年10月20日"])


def test_rows_added_and_removed_are_tracked_row_changes_with_the_new_history_author(marked, versions):
    rows = list(_body(marked).iter(W + "tr"))
    added = [r for r in rows if r.find(f"{W}trPr/{W}ins") is not None]
    removed = [r for r in rows if r.find(f"{W}trPr/{W}del") is not None]
    first = ["".join(r.find(W + "tc").itertext()) for r in added]
    assert first == ["V2.1", "SC-13"]
    assert [r.find(f"{W}trPr/{W}del").get(W + "author") for r in removed] == ["周建峰"]
    assert {r.find(f"{W}trPr/{W}ins").get(W + "date") for r in added} == {"2026-10-08T00:00:00Z"}
    assert redline(versions[0], versions[1]).data == marked.read_bytes()  # reproducible bytes


def test_every_page_says_redline_and_none_says_controlled(marked):
    """The cover's stamp and 受控状态 row and every footer say 对比稿, in the place a controlled copy says 受控."""
    document = read_document(marked)
    footers = [p.text for p in document.footers if "受控状态" in p.text]
    assert footers and all("受控状态：对比稿" in text for text in footers)
    cover = [p.text for p in document.body_paragraphs()][:3]
    assert any(text.strip().endswith("对比稿") for text in cover), cover
    with zipfile.ZipFile(marked) as package:
        for name in package.namelist():
            if name.startswith(("word/document", "word/footer", "word/header")):
                assert "受控状态：受控" not in package.read(name).decode("utf-8"), name


def test_the_summary_names_p1_and_the_new_catalogue_row(versions):
    (line,) = [s for s in diff_documents(versions[0], versions[1]).summary_lines() if s.startswith("第4章")]
    assert "P1响应时间由15分钟调整为10分钟" in line and "新增SC-13“等保测评配合”" in line


def test_identical_versions_give_no_tracked_change(versions, tmp_path):
    result = redline(versions[0], versions[0])
    assert result.changes == 0
    path = tmp_path / "same.docx"
    path.write_bytes(result.data)
    body = _body(path)
    assert next(body.iter(W + "ins"), None) is None and next(body.iter(W + "del"), None) is None


def test_the_cli_from_a_workbook_never_built(versions, tmp_path):
    output = tmp_path / "对比稿.docx"
    result = CliRunner().invoke(main, ["redline", str(versions[0]), str(versions[2]), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == redline(versions[0], versions[1]).data
    again = CliRunner().invoke(main, ["redline", str(versions[0]), str(versions[1]), "-o", str(output)])
    assert again.exit_code == 0 and "内容相同" in again.output


def test_build_with_redline_writes_the_redline_beside_the_new_version(versions, tmp_path):
    result = build(versions[2], tmp_path, redline=versions[0])
    assert result.output is not None
    (path,) = [f.path for f in result.files if f.kind is FileKind.REDLINE]
    assert path == tmp_path / (result.output.stem + "_对比稿.docx")
    assert path.read_bytes() == redline(versions[0], result.output).data


def _foreign(tmp_path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("会议纪要")
    path = tmp_path / "会议纪要.docx"
    document.save(path)
    return path


@pytest.mark.parametrize("which", ["foreign", "tracked", "workbook_as_old", "missing"])
def test_hostile_inputs_give_a_message_and_exit_2(which, versions, marked, tmp_path):
    old = {
        "foreign": _foreign(tmp_path),
        "tracked": marked,  # a 对比稿 already holds tracked changes
        "workbook_as_old": versions[2],
        "missing": tmp_path / "没有.docx",
    }[which]
    result = CliRunner().invoke(main, ["redline", str(old), str(versions[1]), "-o", str(tmp_path / "out.docx")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("错误：") and "Traceback" not in result.output
    assert not (tmp_path / "out.docx").exists()


@pytest.mark.parametrize("which", ["foreign", "damaged"])
def test_what_is_wrong_with_a_new_docx_is_said_of_that_file(which, versions, tmp_path):
    new = {
        "foreign": _foreign(tmp_path),
        "damaged": corrupt_deflate(versions[1], "word/document.xml", 0.5, tmp_path / "V2.1损坏.docx"),
    }[which]
    result = CliRunner().invoke(main, ["redline", str(versions[0]), str(new), "-o", str(tmp_path / "out.docx")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"错误：{new}") and "opsdoc-redline-" not in result.output, result.output
    assert not (tmp_path / "out.docx").exists()


def test_a_foreign_new_version_is_refused(versions, tmp_path):
    with pytest.raises(UnusableDocument, match="不是按公司模板"):
        redline(versions[0], _foreign(tmp_path))


def test_the_pdf_shows_the_changes(versions, tmp_path):
    uno_python()
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is required with LibreOffice: apt-get install poppler-utils")
    output = tmp_path / "对比稿.docx"
    result = CliRunner().invoke(main, ["redline", str(versions[0]), str(versions[1]), "-o", str(output), "--pdf"])
    assert result.exit_code == 0, result.output
    shown = subprocess.run(
        ["pdftotext", str(output.with_suffix(".pdf")), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "对比稿" in shown and "SC-04" in shown and "SC-13" in shown  # the deleted row is shown, struck through


def test_an_issued_version_resaved_by_libreoffice_still_round_trips(versions, tmp_path):
    """LibreOffice renames styles, splits runs, turns pageBreakBefore into a page break and the TOC into a content control."""
    (resaved,) = libreoffice(tmp_path / "resave", {"old": (versions[0], "keep")}).values()
    marked = tmp_path / "对比稿.docx"
    marked.write_bytes(redline(resaved, versions[1]).data)
    done = libreoffice(
        tmp_path,
        {
            "accepted": (marked, "accept"),
            "rejected": (marked, "reject"),
            "new": (versions[1], "keep"),
            "old": (resaved, "keep"),
        },
    )
    assert texts(done["accepted"]) == texts(done["new"])
    assert texts(done["rejected"]) == texts(done["old"])


def test_a_workbook_with_errors_gives_no_redline_and_exit_1(versions, tmp_path):
    workbook = edit_sample(tmp_path, {**_v21_changes(), "文档信息!B4": None})
    output = tmp_path / "对比稿.docx"
    result = CliRunner().invoke(main, ["redline", str(versions[0]), str(workbook), "-o", str(output)])
    assert result.exit_code == 1 and "未生成对比稿" in result.output
    assert not output.exists()


def test_build_cli_names_the_redline_it_wrote(versions, tmp_path):
    result = CliRunner().invoke(main, ["build", str(versions[2]), "-o", str(tmp_path), "--redline", str(versions[0])])
    assert result.exit_code == 0, result.output
    (marked,) = tmp_path.glob("*_对比稿.docx")
    assert f"{marked}：已生成" in result.output


def test_in_a_long_register_only_the_rows_that_differ_are_read_again_and_marked(tmp_path, monkeypatch):
    """OLD is read in passing: of 400 catalogue rows, the plan asks OLD again for the two that differ, and
    only their changes are tracked (a cell edited deep in the table; a row whose paragraph became two)."""
    from opsdoc.qa import redline as module

    book = openpyxl.load_workbook(SAMPLE)
    catalogue = book["服务目录"]
    for number in range(400):
        catalogue.append(
            [f"SC-{100 + number}", "资产", f"服务项{number}", f"第{number}项的内容", "驻场", "7×24", "P3", "报告"]
        )
    book.save(tmp_path / "old.xlsx")
    catalogue.cell(300, 4).value = f"{catalogue.cell(300, 4).value}，并于每季度复核"  # edited deep in the table
    catalogue.cell(350, 4).value = f"{catalogue.cell(350, 4).value}\n另起一段"  # one paragraph made two
    edited = [catalogue.cell(300, 1).value, catalogue.cell(350, 1).value]
    book.save(tmp_path / "new.xlsx")
    old = build(tmp_path / "old.xlsx", tmp_path / "old").output
    new = build(tmp_path / "new.xlsx", tmp_path / "new").output
    asked: list[set] = []
    real = module._read_old

    def read_old(path, wanted):
        if wanted is not None:
            asked.append(wanted)
        return real(path, wanted)

    monkeypatch.setattr(module, "_read_old", read_old)
    result = redline(old, new)
    assert [len(wanted) for wanted in asked] == [2]
    path = tmp_path / "对比稿.docx"
    path.write_bytes(result.data)
    changed = [r for r in _body(path).iter(W + "tr") if next(r.iter(W + "ins"), None) is not None]
    assert ["".join(r.find(W + "tc").itertext()) for r in changed] == edited
    assert ["".join(i.itertext()) for i in changed[0].iter(W + "ins")] == ["，并于每季度复核"]


def test_a_history_table_inside_a_content_control_is_still_the_history(versions, tmp_path):
    """Word wraps a table in a content control (w:sdt) when a template author locks it: the 文件版本历史 is
    found there in either version, as verify and diff find it; the 对比稿 is made."""

    def wrapped(source: Path, name: str) -> Path:
        document = docx.Document(source)
        history = next(t for t in document.tables if t.rows[0].cells[0].text.strip() == "文件版本")._tbl
        control = history.makeelement(W + "sdt", {})
        content = control.makeelement(W + "sdtContent", {})
        history.addprevious(control)
        control.append(content)
        content.append(history)
        path = tmp_path / name
        document.save(path)
        return path

    result = redline(wrapped(versions[0], "old.docx"), wrapped(versions[1], "new.docx"))
    assert result.changes > 0 and (result.author, result.date) == ("周建峰", "2026-10-08T00:00:00Z")
