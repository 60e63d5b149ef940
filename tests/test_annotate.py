"""The annotated copy: findings on their cells and listed on 检查结果, the workbook otherwise kept."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from opsdoc.api import check
from opsdoc.cli import main
from opsdoc.contract.vocabulary import Severity
from opsdoc.office.xlsx import sheet_parts
from opsdoc.workbook.annotate import FILLS, RESULTS_SHEET
from tests.support import CSV_UTF8, SAMPLE, convert_with_libreoffice, edit_sample

BROKEN = {
    "文档信息!B4": "2.0",  # version-format and cover-version-mismatch (另见 修订记录!A5)
    "风险登记!G2": "只有一条措施",  # risk-measures
    "绩效考核!B2": 35,  # kpi-weights over 绩效考核!B2:B7
    "修订记录!G5": "周建峰",  # self-approval, a warning (另见 修订记录!C5)
}


def fill_of(cell) -> str:
    return cell.fill.start_color.rgb[-6:] if cell.fill.fill_type == "solid" else ""


def with_cached_formulas(path: Path) -> Path:
    """Give the workbook formulas with cached results, as Excel saves them (openpyxl cannot).

    绩效考核!B7 computes its weight (a number); 文档信息!B2 joins the client's name (a string).
    """
    book = openpyxl.load_workbook(path)
    weight, client = book["绩效考核"]["B7"].value, book["文档信息"]["B2"].value
    book["绩效考核"]["B7"] = f"={weight}+0"
    book["文档信息"]["B2"] = f'="{client[:3]}"&"{client[3:]}"'
    book.save(path)
    with zipfile.ZipFile(path) as source:
        entries = [(e, source.read(e.filename)) for e in source.infolist()]
        parts = sheet_parts(path, source)
    results = {parts["绩效考核"]: ("B7", str(weight), b""), parts["文档信息"]: ("B2", client, b' t="str"')}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry, data in entries:
            if entry.filename in results:
                ref, value, kind = results[entry.filename]
                pattern = rf'<c r="{ref}"( s="\d+")?><f>(.*?)</f><v\s*/?>(?:</v>)?</c>'.encode()
                cached = rb'<c r="' + ref.encode() + rb'"\1' + kind + rb"><f>\2</f><v>" + value.encode() + b"</v></c>"
                data, count = re.subn(pattern, cached, data)
                assert count == 1
            target.writestr(entry, data)
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return with_cached_formulas(edit_sample(tmp_path, BROKEN, name="原工作簿.xlsx"))


@pytest.fixture
def annotated(broken: Path, tmp_path: Path) -> Path:
    out = tmp_path / "标注副本.xlsx"
    result = CliRunner().invoke(main, ["check", str(broken), "--annotate", str(out)])
    assert result.exit_code == 1, result.output
    return out


def findings_of(path: Path) -> list[tuple[str, str]]:
    return [(f.code, str(f.location)) for f in check(path).report.findings]


def test_every_finding_is_listed_with_a_link_to_its_cell(broken, annotated):
    report = check(broken).report
    sheet = openpyxl.load_workbook(annotated)[RESULTS_SHEET]
    assert openpyxl.load_workbook(annotated).sheetnames[0] == RESULTS_SHEET
    assert sheet["A1"].value.startswith(f"{broken.name}：4 个错误，1 个警告（版本 V2.0，批准日期 2026-09-07）")
    assert [c.value for c in sheet[2]] == ["严重程度", "工作表", "单元格", "代码", "说明"]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:E7"
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    listed = {(row[3], f"{row[1]}!{row[2]}") for row in rows}
    assert listed == {(f.code, str(f.location)) for f in report.findings}
    links = {row[2].value: row[2].hyperlink.location for row in sheet.iter_rows(min_row=3)}
    assert links == {"B4": "'文档信息'!B4", "G5": "'修订记录'!G5", "G2": "'风险登记'!G2", "B2:B7": "'绩效考核'!B2"}
    assert {row[0] for row in rows} == {"错误", "警告"}


def test_each_cell_carries_its_findings_as_a_note_and_its_severity_as_a_fill(annotated):
    book = openpyxl.load_workbook(annotated)
    cover = book["文档信息"]["B4"]
    assert "[version-format]" in cover.comment.text and "[cover-version-mismatch]" in cover.comment.text
    assert fill_of(cover) == FILLS[(Severity.ERROR, False)]
    assert fill_of(book["风险登记"]["G2"]) == FILLS[(Severity.ERROR, False)]
    assert "[risk-measures]" in book["风险登记"]["G2"].comment.text
    assert fill_of(book["修订记录"]["G5"]) == FILLS[(Severity.WARNING, False)]
    assert "[self-approval]" in book["修订记录"]["G5"].comment.text
    # a range: the note on its first cell, every cell of it filled
    assert "[kpi-weights]" in book["绩效考核"]["B2"].comment.text
    assert book["绩效考核"]["B3"].comment is None
    assert {fill_of(book["绩效考核"][f"B{r}"]) for r in range(2, 8)} == {FILLS[(Severity.ERROR, False)]}
    # 另见: marked lighter, with a note saying whose finding it takes part in
    assert fill_of(book["修订记录"]["A5"]) == FILLS[(Severity.ERROR, True)]
    assert "另见 文档信息!B4" in book["修订记录"]["A5"].comment.text
    assert fill_of(book["修订记录"]["C5"]) == FILLS[(Severity.WARNING, True)]
    assert fill_of(book["风险登记"]["G3"]) == ""  # unmarked cells keep their look


def test_the_copy_keeps_the_workbook_and_checks_the_same(broken, annotated):
    before = broken.read_bytes()
    assert findings_of(annotated) == findings_of(broken)
    assert broken.read_bytes() == before
    original, copy = openpyxl.load_workbook(broken), openpyxl.load_workbook(annotated)
    assert copy.sheetnames == [RESULTS_SHEET, *original.sheetnames]
    for name in original.sheetnames:
        old, new = original[name], copy[name]
        assert [[c.value for c in r] for r in old.iter_rows()] == [[c.value for c in r] for r in new.iter_rows()]
        assert [(v.type, v.formula1, str(v.sqref)) for v in old.data_validations.dataValidation] == [
            (v.type, v.formula1, str(v.sqref)) for v in new.data_validations.dataValidation
        ]
        assert old.freeze_panes == new.freeze_panes and old.sheet_state == new.sheet_state
        assert {k: d.width for k, d in old.column_dimensions.items()} == {
            k: d.width for k, d in new.column_dimensions.items()
        }
    assert copy["绩效考核"]["B7"].value.startswith("=")  # the formula, and below its cached result
    cached = openpyxl.load_workbook(annotated, data_only=True)
    assert cached["绩效考核"]["B7"].value == 10
    assert cached["文档信息"]["B2"].value == "滨海市第一人民医院"


def test_the_same_workbook_gives_the_same_bytes(broken, annotated, tmp_path):
    again = tmp_path / "again.xlsx"
    assert CliRunner().invoke(main, ["check", str(broken), "--annotate", str(again)]).exit_code == 1
    assert again.read_bytes() == annotated.read_bytes()


def test_a_clean_workbook_gives_a_copy_that_says_so(tmp_path):
    out = tmp_path / "copy.xlsx"
    assert CliRunner().invoke(main, ["check", str(SAMPLE), "--annotate", str(out)]).exit_code == 0
    sheet = openpyxl.load_workbook(out)[RESULTS_SHEET]
    assert sheet["A1"].value.startswith(f"{SAMPLE.name}：0 个错误，0 个警告")
    assert sheet.max_row == 2
    assert findings_of(out) == []


def test_a_finding_without_a_cell_is_listed_only(tmp_path):
    source = edit_sample(tmp_path, delete_sheets=["风险登记"])
    out = tmp_path / "copy.xlsx"
    assert CliRunner().invoke(main, ["check", str(source), "--annotate", str(out)]).exit_code == 1
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(out)[RESULTS_SHEET].iter_rows(min_row=3)]
    assert ["错误", "风险登记", None, "missing-sheet"] in [row[:4] for row in rows]
    assert findings_of(out) == findings_of(source)


def test_never_over_the_original_nor_an_existing_file(broken, tmp_path):
    before = broken.read_bytes()
    same = CliRunner().invoke(main, ["check", str(broken), "--annotate", str(broken), "--force"])
    assert same.exit_code == 2 and "本命令的输入文件" in same.output
    alias = tmp_path / "sub" / ".." / broken.name
    (tmp_path / "sub").mkdir()
    assert CliRunner().invoke(main, ["check", str(broken), "--annotate", str(alias)]).exit_code == 2
    assert broken.read_bytes() == before
    existing = tmp_path / "existing.xlsx"
    existing.write_bytes(b"keep")
    refused = CliRunner().invoke(main, ["check", str(broken), "--annotate", str(existing)])
    assert refused.exit_code == 3 and "--force" in refused.output and existing.read_bytes() == b"keep"
    forced = CliRunner().invoke(main, ["check", str(broken), "--annotate", str(existing), "--force"])
    assert forced.exit_code == 1 and zipfile.is_zipfile(existing)


def test_an_unreadable_workbook_writes_nothing(tmp_path):
    source = tmp_path / "bad.xlsx"
    source.write_bytes(b"not a workbook")
    out = tmp_path / "copy.xlsx"
    result = CliRunner().invoke(main, ["check", str(source), "--annotate", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.xlsx"]


def test_a_refused_build_leaves_the_annotated_copy(broken, tmp_path):
    out = tmp_path / "copy.xlsx"
    result = CliRunner().invoke(main, ["build", str(broken), "-o", str(tmp_path / "docs"), "--annotate", str(out)])
    assert result.exit_code == 1
    assert findings_of(out) == findings_of(broken)
    assert not (tmp_path / "docs").exists() or not any((tmp_path / "docs").iterdir())


def test_libreoffice_opens_the_copy(annotated, tmp_path):
    converted = convert_with_libreoffice(annotated, CSV_UTF8, tmp_path)
    with open(converted, encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][0].startswith("原工作簿.xlsx：4 个错误，1 个警告")  # the first sheet is 检查结果
    assert rows[1] == ["严重程度", "工作表", "单元格", "代码", "说明"]
    assert len(rows) == 7
