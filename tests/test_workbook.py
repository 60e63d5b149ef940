"""Reading the workbook: every reading problem is a finding at its cell, all reported at once."""

from datetime import date

import openpyxl
import pytest

from opsdoc.api import check
from opsdoc.errors import UnusableWorkbook
from opsdoc.workbook.reader import read_workbook
from tests.support import SAMPLE, edit_sample


def findings(path):
    report = check(path).report
    return [(f.code, f.location.cell) for f in report.findings]


def test_sample_reads_clean():
    workbook = read_workbook(SAMPLE)
    assert workbook.findings == []
    assert workbook.document.info.version == "V2.0"
    assert len(workbook.document.revisions) == 4
    assert workbook.cells.ref("revisions", 3, "version") == "修订记录!A5"
    assert workbook.cells.ref("info", "version") == "文档信息!B4"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"修订记录!C3": None}, [("missing-value", "修订记录!C3")]),
        ({"文档信息!B1": "   "}, [("missing-value", "文档信息!B1")]),
        ({"修订记录!B3": "2025-02-30"}, [("bad-date", "修订记录!B3")]),
        ({"修订记录!B3": 20250301}, [("bad-date", "修订记录!B3")]),
        ({"文档信息!B9": "下个月"}, [("bad-date", "文档信息!B9")]),
        ({"预算!C2": "十二万"}, [("bad-number", "预算!C2")]),
        # typed as text, float() would read these as numbers that are none
        ({"预算!C2": "NaN"}, [("bad-number", "预算!C2")]),
        ({"预算!C2": "inf"}, [("bad-number", "预算!C2")]),
        ({"风险登记!D2": "-Infinity"}, [("bad-number", "风险登记!D2")]),
        ({"服务级别协议!C2": "1e999"}, [("bad-number", "服务级别协议!C2")]),
        ({"组织职责!B3": "技术经理"}, [("bad-choice", "组织职责!B3")]),
        ({"风险登记!D2": 7}, [("bad-choice", "风险登记!D2")]),
        ({"文档信息!B7": "绝密"}, [("bad-choice", "文档信息!B7")]),
        ({"预算!C3": "=C2*2"}, [("formula-no-value", "预算!C3")]),
        ({"预算!C3": "#DIV/0!"}, [("error-cell", "预算!C3")]),
        ({"组织职责!E2": "负责项目管理_x0007_"}, [("illegal-character", "组织职责!E2")]),
        (
            {"修订记录!H3": "将XX章节XX内容修改为XX内容"},
            [("placeholder-text", "修订记录!H3"), ("revision-note", "修订记录!H3")],
        ),
        ({"项目背景!B1": "【说明系统建设背景】"}, [("placeholder-text", "项目背景!B1")]),
        ({"服务范围!B2": "XX级医院"}, [("placeholder-text", "服务范围!B2")]),
        ({"服务目录!A3": "SC-01"}, [("duplicate-key", "服务目录!A3")]),
        ({"风险登记!A3": "R-01"}, [("duplicate-key", "风险登记!A3")]),
    ],
)
def test_each_reading_problem_names_its_cell(tmp_path, changes, expected):
    assert findings(edit_sample(tmp_path, changes)) == expected


def test_a_bare_number_is_not_a_date(tmp_path):
    book = openpyxl.load_workbook(SAMPLE)
    book["服务周期"]["B2"] = 20260101
    book["服务周期"]["B2"].number_format = "General"
    book.save(tmp_path / "w.xlsx")
    report = check(tmp_path / "w.xlsx").report
    assert [(f.code, f.location.cell) for f in report.findings] == [("bad-date", "服务周期!B2")]
    assert "是数字而不是日期" in report.findings[0].message


def test_missing_sheet(tmp_path):
    assert findings(edit_sample(tmp_path, delete_sheets=["风险登记"])) == [("missing-sheet", None)]


def test_optional_sheet_may_be_absent(tmp_path):
    workbook = read_workbook(edit_sample(tmp_path, delete_sheets=["补充说明"]))
    assert workbook.findings == [] and workbook.document.notes == []


def test_missing_column_is_reported_once_not_per_row(tmp_path):
    path = edit_sample(tmp_path, {"修订记录!C1": None})
    assert findings(path) == [("missing-column", "修订记录!1:1")]


def test_missing_label(tmp_path):
    assert findings(edit_sample(tmp_path, {"文档信息!A12": None, "文档信息!B12": None})) == [
        ("missing-label", "文档信息!A:A")
    ]


def test_empty_required_table(tmp_path):
    book = openpyxl.load_workbook(SAMPLE)
    book["预算"].delete_rows(2, 10)
    book.save(tmp_path / "w.xlsx")
    assert findings(tmp_path / "w.xlsx") == [("missing-value", "预算!A2")]


def test_columns_are_found_by_header_not_position(tmp_path):
    book = openpyxl.load_workbook(SAMPLE)
    sheet = book["服务级别协议"]
    sheet.move_range("A1:A5", cols=10)  # 级别 now lives in column K
    sheet["C1"] = "响应时间（分钟）"  # full-width brackets, as an IME types them
    book.save(tmp_path / "w.xlsx")
    workbook = read_workbook(tmp_path / "w.xlsx")
    assert workbook.findings == []
    assert [s.level for s in workbook.document.service_levels] == ["P1", "P2", "P3", "P4"]
    assert workbook.cells.ref("service_levels", 0, "level") == "服务级别协议!K2"


def test_empty_rows_are_skipped_and_text_dates_read(tmp_path):
    book = openpyxl.load_workbook(SAMPLE)
    book["修订记录"].insert_rows(3)
    book["修订记录"]["B2"] = "2025年3月10日"
    book.save(tmp_path / "w.xlsx")
    workbook = read_workbook(tmp_path / "w.xlsx")
    assert workbook.findings == []
    assert len(workbook.document.revisions) == 4
    assert workbook.document.revisions[0].revised_on == date(2025, 3, 10)
    assert workbook.cells.ref("revisions", 1, "version") == "修订记录!A4"


def test_unknown_column_is_a_warning(tmp_path):
    assert findings(edit_sample(tmp_path, {"预算!E1": "备注", "预算!E2": "含税"})) == [("unknown-column", "预算!E1")]


def test_a_finding_about_a_header_with_a_line_break_is_one_line(tmp_path):
    (finding,) = check(edit_sample(tmp_path, {"预算!E1": "备注\r\n（含税）", "预算!E2": "含税"})).report.findings
    assert "\n" not in finding.as_line() and "「备注↵（含税）」" in finding.message


def test_many_mistakes_are_reported_in_one_run(tmp_path):
    path = edit_sample(tmp_path, {"修订记录!C3": None, "预算!C2": "abc", "风险登记!E3": 9, "文档信息!B10": "45000"})
    assert sorted(findings(path)) == sorted(
        [
            ("missing-value", "修订记录!C3"),
            ("bad-number", "预算!C2"),
            ("bad-choice", "风险登记!E3"),
            ("bad-date", "文档信息!B10"),
        ]
    )


def test_messages_are_chinese_and_name_the_value(tmp_path):
    report = check(edit_sample(tmp_path, {"组织职责!B3": "技术经理"})).report
    (finding,) = report.findings
    assert "「技术经理」不是可选值" in finding.message and "服务项目工程师" in finding.message


def test_the_workbook_is_never_modified(sample_copy):
    before = sample_copy.read_bytes()
    check(sample_copy)
    assert sample_copy.read_bytes() == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "空的"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "加密的工作簿或旧版 .xls"),
        (b"name,version\nA,V1.0\n", "不是 .xlsx"),
        (b"PK\x03\x04garbage", "不是 .xlsx"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, content, message):
    path = tmp_path / "工作簿.xlsx"
    path.write_bytes(content)
    with pytest.raises(UnusableWorkbook, match=message):
        read_workbook(path)


def test_column_names_as_excel_shows_them():
    from opsdoc.office.xlsx import column_index, column_letter

    assert [column_letter(i) for i in (1, 26, 27, 52, 53, 256, 16384)] == ["A", "Z", "AA", "AZ", "BA", "IV", "XFD"]
    assert all(column_index(column_letter(i)) == i for i in range(1, 1000))
