"""opsdoc import: a 运维工作管理规范 read back into the workbook.

The key property is the round trip: importing a built document gives a workbook whose check
is clean and whose build is byte-identical to the original build, also after the document
went through LibreOffice or was edited the way people edit (columns reordered, an empty row,
headings numbered by hand). What cannot be placed is reported with its place.
"""

from __future__ import annotations

import copy
from datetime import UTC, date
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from docx.oxml.ns import qn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from opsdoc.api import build, check
from opsdoc.cli import main
from opsdoc.contract.model import SHEET_BY_NAME
from opsdoc.errors import IssuedVersionExists, UnusableDocument
from opsdoc.importer import import_document
from opsdoc.importer.values import read_value, split_period
from opsdoc.workbook.reader import read_workbook
from tests.support import SAMPLE, SAMPLE_DOCX, convert_with_libreoffice, edit_sample, uno_python


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> bytes:
    """The sample workbook's build, the bytes every round trip must give again."""
    result = build(SAMPLE, tmp_path_factory.mktemp("original"))
    assert result.output is not None
    return result.output.read_bytes()


def rebuilt(document: Path, folder: Path, expected_check: str = "") -> tuple[bytes, list[str]]:
    """Import `document`, check the workbook, build it: the new bytes and the import's codes.

    The imported workbook's check must say what the original's said (`expected_check`, its
    finding lines; nothing for the sample).
    """
    workbook = folder / "imported.xlsx"
    report = import_document(document, workbook).report
    checked = check(workbook)
    assert "\n".join(f.as_line() for f in checked.report.sorted()) == expected_check
    result = build(workbook, folder / "out")
    assert result.output is not None
    return result.output.read_bytes(), [f.code for f in report.findings]


def edited(tmp_path: Path, change, name: str = "edited.docx") -> Path:
    """The sample document changed in code by `change(python-docx Document)`."""
    document = docx.Document(str(SAMPLE_DOCX))
    change(document)
    path = tmp_path / name
    document.save(str(path))
    return path


def table_under(document, caption_words: str):
    """The table whose header row starts with `caption_words` (a header cell's text)."""
    return next(t for t in document.tables if t.rows[0].cells[0].text.replace("\n", "") == caption_words)


# ---------------------------------------------------------------- round trips


def test_the_sample_document_round_trips_byte_identical(tmp_path, original):
    data, codes = rebuilt(SAMPLE_DOCX, tmp_path)
    assert codes == []
    assert data == original


def test_a_project_without_process_exceptions_round_trips(tmp_path):
    """The 6.1 sentence is a condition: its other branch reads back too, leaving 流程特例 empty."""
    first = build(edit_sample(tmp_path, {"项目管理!B1": None}), tmp_path / "first")
    assert first.output is not None
    data, codes = rebuilt(first.output, tmp_path)
    assert codes == []
    assert data == first.output.read_bytes()


def test_the_imported_workbook_has_the_blank_workbooks_layout(tmp_path):
    import openpyxl

    from opsdoc.workbook.blank import new_workbook

    workbook = tmp_path / "w.xlsx"
    import_document(SAMPLE_DOCX, workbook)
    imported = openpyxl.load_workbook(workbook)
    blank = openpyxl.load_workbook(__import__("io").BytesIO(new_workbook()))
    assert imported.sheetnames == blank.sheetnames
    for name in blank.sheetnames:
        assert imported[name].data_validations.count == blank[name].data_validations.count
    assert [c.value for c in imported["修订记录"][1]] == [c.value for c in blank["修订记录"][1]]
    assert imported["修订记录"]["B2"].value.date() == read_workbook(SAMPLE).document.revisions[0].revised_on


def resaved_by_libreoffice(document: Path, folder: Path) -> Path:
    """`document` opened and saved as .docx by LibreOffice Writer."""
    (folder / "lo").mkdir()
    return convert_with_libreoffice(document, "docx", folder / "lo")


def test_a_document_resaved_by_libreoffice_round_trips(tmp_path, original):
    data, codes = rebuilt(resaved_by_libreoffice(SAMPLE_DOCX, tmp_path), tmp_path)
    assert codes == []
    assert data == original


def test_catalog_columns_in_another_order(tmp_path, original):
    def reorder(document):
        table = table_under(document, "编号")
        for row in table.rows:
            cells = row._tr.findall(qn("w:tc"))
            for cell in reversed(cells):  # the columns in reverse order
                row._tr.append(cell)

    data, codes = rebuilt(edited(tmp_path, reorder), tmp_path)
    assert codes == []
    assert data == original


def test_an_empty_row_in_the_risk_register_and_a_repeated_header(tmp_path, original):
    def empty_row(document):
        table = table_under(document, "风险编号")
        second = table.rows[2]._tr
        blank = copy.deepcopy(second)
        for text in blank.iter(qn("w:t")):
            text.text = ""
        second.addprevious(blank)
        second.addprevious(copy.deepcopy(table.rows[0]._tr))  # the header again, as on a new page

    data, codes = rebuilt(edited(tmp_path, empty_row), tmp_path)
    assert codes == []
    assert data == original


def test_merged_cells_read_as_each_cell_they_cover(tmp_path, original):
    """A manager merges 服务方式 down over three catalogue rows: each row keeps its value."""

    def merge(document):
        table = table_under(document, "编号")
        header = [c.text.replace("\n", "") for c in table.rows[0].cells]
        mode = header.index("服务方式")
        texts = [table.cell(r, mode).text for r in range(len(table.rows))]
        first = next(r for r in range(1, len(texts) - 2) if texts[r] == texts[r + 1] == texts[r + 2])
        rows = [first, first + 1, first + 2]  # three neighbours with the same 服务方式
        for r in rows[1:]:
            table.cell(r, mode).paragraphs[0].runs[0].text = ""
        table.cell(rows[0], mode).merge(table.cell(rows[-1], mode))

    data, codes = rebuilt(edited(tmp_path, merge), tmp_path)
    assert codes == []
    assert data == original


def test_headings_numbered_by_hand_in_plain_paragraphs(tmp_path, original):
    def number(document):
        chapter = section = 0
        for p in document.paragraphs:
            if p.style.name == "Heading 1":
                chapter, section = chapter + 1, 0
                p.text, p.style = f"{chapter}．{p.text}", document.styles["Normal"]
            elif p.style.name == "Heading 2":
                section += 1
                p.text, p.style = f"（{'一二三四五六七'[section - 1]}）{p.text}", document.styles["Normal"]

    data, codes = rebuilt(edited(tmp_path, number), tmp_path)
    assert codes == []
    assert data == original


def test_a_foreign_paragraph_in_chapter_1_goes_to_its_补充说明_and_is_reported_with_its_place(tmp_path):
    def foreign(document):
        heading = next(p for p in document.paragraphs if p.style.name == "Heading 1")
        heading._p.addnext(copy.deepcopy(heading._p))
        extra = document.paragraphs[[p._p for p in document.paragraphs].index(heading._p) + 1]
        extra.style = document.styles["Normal"]
        extra.text = "本文件由信息科张工于去年起草，仅供内部参考。"

    result = CliRunner().invoke(
        main, ["import", str(edited(tmp_path, foreign)), "-o", str(tmp_path / "w.xlsx"), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    import json

    report = json.loads(result.stdout)
    [found] = report["findings"]
    assert found["code"] == "import-text-kept"
    assert found["part"] == "body" and found["paragraph"] is not None
    assert found["excerpt"].startswith("本文件由信息科张工")
    assert "已放入「补充说明」（章节 1）" in found["message"] and "第1章" in found["message"]
    notes = openpyxl.load_workbook(tmp_path / "w.xlsx")["补充说明"]
    assert [row[1].value for row in notes.iter_rows(min_row=2) if row[0].value == 1] == [
        "本文件由信息科张工于去年起草，仅供内部参考。"
    ]


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # each example builds twice: no long shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    words=st.lists(
        st.text(st.characters(whitelist_categories=("Lo", "Nd", "Lu")), min_size=1, max_size=8), min_size=3, max_size=3
    ),
    day=st.dates(date(2024, 1, 1), date(2025, 12, 31)),
    minutes=st.integers(15, 999),
)
def test_generated_workbooks_round_trip(tmp_path_factory, words, day, minutes):
    folder = tmp_path_factory.mktemp("prop")
    workbook = edit_sample(
        folder,
        {
            "项目背景!B1": f"{words[0]}\n{words[1]}",
            "服务目录!C3": words[2],
            "风险登记!C2": words[1],
            "服务周期!B3": day,
            "服务级别协议!C3": minutes,
            "合同指标!B3": f"响应{minutes}分钟，到场120分钟，8小时内恢复",  # the contract agrees (contract-sla-times)
            "预算!C2": minutes * 1.25,
        },
    )
    first = build(workbook, folder / "first")
    if first.output is None:  # a generated value the rules refuse: nothing to round-trip
        return
    said = "\n".join(f.as_line() for f in check(workbook).report.sorted())
    data, codes = rebuilt(first.output, folder, said)
    assert codes == []
    assert data == first.output.read_bytes()


# ---------------------------------------------------------------- values as people write them


def column(sheet: str, label: str):
    return SHEET_BY_NAME[sheet].column(label)


@pytest.mark.parametrize(
    ("sheet", "label", "text", "value", "code"),
    [
        ("service_levels", "响应时间(分钟)", "15分钟", 15, None),
        ("service_levels", "响应时间(分钟)", "2小时", 120, None),
        ("service_levels", "解决时间(小时)", "2天", None, "import-ambiguous-value"),
        ("budget", "金额(元)", "1.2万元", 12000, None),
        ("budget", "金额(元)", "12,000.00", 12000, None),
        ("kpis", "权重(%)", "30%", 30, None),
        ("resources", "纳入预算", "√", "是", None),
        ("resources", "纳入预算", "×", "否", None),
        ("risks", "风险等级", "高", None, "import-ambiguous-value"),
        ("risks", "风险等级", "较大", "较大", None),
        ("risks", "可能性", "3", 3, None),
        ("plan", "开始日期", "2026.3.1", date(2026, 3, 1), None),
        ("plan", "开始日期", "2026年3月1日", date(2026, 3, 1), None),
        ("plan", "开始日期", "下月初", "下月初", "import-bad-value"),
        ("team", "专业方向", "【填写专业方向】", None, "import-placeholder"),
    ],
)
def test_values_as_people_write_them(sheet, label, text, value, code):
    read = read_value(column(sheet, label), text)
    assert (read.value, read.code) == (value, code)


@pytest.mark.parametrize(
    "text", ["2024.9.1—2025.8.31", "自2024年9月1日起至2025年8月31日止", "2024-09-01 ~ 2025-08-31", "20240901至20250831"]
)
def test_a_period_in_one_cell(text):
    start, end = split_period(text)
    assert (
        read_value(column("periods", "开始日期"), start).value,
        read_value(column("periods", "结束日期"), end).value,
    ) == (
        date(2024, 9, 1),
        date(2025, 8, 31),
    )


# ---------------------------------------------------------------- safety


def test_an_existing_workbook_is_not_overwritten_without_force(tmp_path):
    workbook = tmp_path / "w.xlsx"
    workbook.write_bytes(b"filled by hand")
    with pytest.raises(IssuedVersionExists):
        import_document(SAMPLE_DOCX, workbook)
    assert workbook.read_bytes() == b"filled by hand"
    import_document(SAMPLE_DOCX, workbook, force=True)
    assert read_workbook(workbook).document is not None


def test_a_doc_that_libreoffice_cannot_read_is_refused_with_the_reason(tmp_path):
    uno_python()
    legacy = tmp_path / "旧规范.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    result = CliRunner().invoke(main, ["import", str(legacy), "-o", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 2
    assert "LibreOffice 无法把它转换为 .docx" in result.stderr
    assert not (tmp_path / "w.xlsx").exists()
    with pytest.raises(UnusableDocument):
        import_document(legacy, tmp_path / "w.xlsx")


def test_a_word_97_doc_is_converted_and_imported_like_its_docx(tmp_path):
    uno_python()
    doc = convert_with_libreoffice(SAMPLE_DOCX, "doc", tmp_path)
    from_doc = import_document(doc, tmp_path / "doc.xlsx")
    from_docx = import_document(SAMPLE_DOCX, tmp_path / "docx.xlsx")
    assert from_doc.summary.startswith("（已由 LibreOffice 转换为 .docx）放入 563 个值")
    assert from_doc.summary.removeprefix("（已由 LibreOffice 转换为 .docx）") == from_docx.summary
    assert [f.code for f in from_doc.report.findings] == []
    assert read_workbook(tmp_path / "doc.xlsx").document == read_workbook(tmp_path / "docx.xlsx").document


def test_a_workbook_is_not_a_document(tmp_path):
    result = CliRunner().invoke(main, ["import", str(SAMPLE), "-o", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 2 and "Excel" in result.stderr
    assert not (tmp_path / "w.xlsx").exists()


# ---------------------------------------------------------------- a document typed by hand


def hand_typed(path: Path) -> Path:
    """A 运维工作管理规范 typed by a project manager from the company template, not built by opsdoc:
    plain paragraphs numbered by hand, a typed TOC, a run-in label, guidance left in place,
    values written as people write them."""
    d = docx.Document()

    def p(text: str, bold: bool = False) -> None:
        d.add_paragraph().add_run(text).bold = bold

    def table(rows: list[list[str]]) -> None:
        t = d.add_table(rows=len(rows), cols=len(rows[0]))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                t.cell(r, c).text = text

    p("文件编码：QT-YW-GF-HX02-003")
    p("海西县人民医院运维服务项目运维工作管理规范", bold=True)
    p("版本号：V1.1")
    table([["编制单位：", "启泰信息技术有限公司"], ["客户名称：", "海西县人民医院"], ["生效日期：", "2026.3.1"]])
    p("密级：内部")  # a cover field typed as a line instead of in the table
    p("文件版本历史")
    table(
        [
            ["文件版本", "修订日期/修订人", "审核日期/审核人", "批准日期/批准人", "修订说明"],
            ["V1.0", "2025.9.1/王磊", "2025.9.3/李娜", "2025.9.5/陈刚", "首次发布"],
            ["V1.1", "2026.2.20/王磊", "下月初/李娜", "2026.2.26/陈刚", "WJGG-2026-007"],
        ]
    )
    p("目录")
    p("一、项目背景……………………3")
    p("二、组织职责……………………4")
    p("一、项目背景", bold=True)
    p("（一）建设背景", bold=True)
    p("海西县人民医院2024年完成HIS、LIS、PACS系统建设，需要专业运维团队保障运行。")
    p("（二）业务问题", bold=True)
    p("【描述目前存在的业务问题】")
    p("二、组织职责", bold=True)
    table(
        [
            ["姓名", "岗位", "工作方式", "职责", "联系电话", "备注"],
            ["王磊", "服务项目经理", "驻场", "项目管理", "13800000001", "兼任质量员"],
            ["", "", "", "", "", ""],
            ["赵强", "服务项目工程师", "驻场", "网络运维\n数据库运维", "13800000002", ""],
        ]
    )
    p("四、服务目录和服务级别协议", bold=True)
    p("（二）服务级别协议", bold=True)
    table(
        [
            ["级别", "定义", "响应时间", "解决时间", "服务时间"],
            ["P1", "核心系统中断", "15分钟", "4小时", "7×24"],
            ["P2", "部分功能故障", "半小时", "8小时", "7×24"],
        ]
    )
    p("六、项目管理", bold=True)
    p("预算管理：应按照公司财务部门的要求编制部门成本预算和服务项目的成本预算。", bold=True)
    table(
        [
            ["预算项", "类别", "金额（元）", "说明"],
            ["驻场人员", "人工成本", "36万元", ""],
            ["备品备件", "采购", "50,000.00", ""],
            ["合计", "", "400,000.00", ""],
        ]
    )
    p("（五）风险管理", bold=True)
    table(
        [
            ["风险编号", "风险类别", "风险描述", "可能性", "影响", "风险等级", "应对措施"],
            ["R-01", "质量", "核心数据库宕机", "2", "5", "高", "双机热备\n每日备份"],
        ]
    )
    p("七、资源和工具", bold=True)
    table([["资源性质", "资源类别", "名称", "用途", "纳入预算"], ["外部资源", "设备供应商", "华为", "存储维保", "√"]])
    d.save(str(path))
    return path


@pytest.mark.parametrize("saved_by", ["python-docx", "LibreOffice"])
def test_a_document_typed_by_hand(tmp_path, saved_by):
    (tmp_path / "typed").mkdir()
    typed = hand_typed(tmp_path / "typed" / "海西.docx")
    if saved_by == "LibreOffice":  # as if typed in Writer and saved as .docx there
        typed = resaved_by_libreoffice(typed, tmp_path)
    workbook = tmp_path / "海西.xlsx"
    report = import_document(typed, workbook).report
    read = read_workbook(workbook)
    data = read.data
    # placed
    assert data["文档信息"]["项目名称"] == "海西县人民医院运维服务项目"
    assert data["文档信息"]["版本号"] == "V1.1"
    assert data["文档信息"]["生效日期"] == date(2026, 3, 1)
    assert data["文档信息"]["密级"] == "内部"
    assert data["项目背景"]["建设背景"].startswith("海西县人民医院2024年")
    assert [r["修订人"] for r in data["修订记录"]] == ["王磊", "王磊"]
    assert data["修订记录"][1]["审核日期"] == "下月初"  # kept as typed: check flags it in its cell
    assert [r["姓名"] for r in data["组织职责"]] == ["王磊", "赵强"]
    assert data["组织职责"][1]["职责"] == "网络运维\n数据库运维"
    assert [r["响应时间(分钟)"] for r in data["服务级别协议"]] == [15, "半小时"]  # kept as typed, reported
    assert data["服务级别协议"][0]["解决时间(小时)"] == 4
    assert [r["金额(元)"] for r in data["预算"]] == [360000, 50000]
    assert data["资源计划"][0]["纳入预算"] == "是"
    assert data["风险登记"][0].get("风险等级") is None
    # reported, each with its place
    codes = {f.code for f in report.findings}
    assert {
        "import-bad-value",  # 下月初, 半小时
        "import-placeholder",  # 【描述目前存在的业务问题】
        "import-extra-column",  # 备注
        "import-ambiguous-value",  # 风险等级 高
        "import-total-mismatch",  # 合计 400,000.00 ≠ 410,000
        "import-value-missing",  # chapters never typed
    } <= codes
    placed = [f for f in report.findings if f.code != "import-value-missing"]
    assert all(f.location is not None for f in placed)
    assert check(workbook).report.errors  # the manager has work to do, and check says where
    assert CliRunner().invoke(main, ["import", str(typed), "-o", str(workbook), "--force"]).exit_code == 1


def test_imported_rows_are_typed_as_excel_types_them_in_their_columns(tmp_path):
    """Each imported cell has its column's style, as a value typed into the blank workbook gets: a date
    shows as yyyy-mm-dd, a paragraph wraps in a row high enough for it; the sheet's used range covers the rows."""
    import_document(SAMPLE_DOCX, tmp_path / "导入.xlsx")
    book = openpyxl.load_workbook(tmp_path / "导入.xlsx")
    history, catalogue = book["修订记录"], book["服务目录"]
    assert history["B2"].is_date and history["B2"].number_format == "yyyy-mm-dd"
    assert history["B2"].value.date() == read_workbook(SAMPLE).document.revisions[0].revised_on
    assert catalogue["D2"].alignment.wrap_text and isinstance(catalogue["D2"].value, str)
    assert catalogue.row_dimensions[2].height == 30  # its 服务内容 takes two lines: the row shows both
    assert history.dimensions == f"A1:H{history.max_row}" and history.max_row == 1 + len(
        read_workbook(SAMPLE).document.revisions
    )


def test_rows_written_into_a_workbook_read_back_as_they_were(tmp_path):
    """with_rows, on what no document gives but a careless caller could: markup, a 400-digit number, NaN,
    a time with its zone, characters XML cannot hold, a leading "=" (text, never a formula)."""
    from datetime import datetime

    from opsdoc.office.xlsx_write import with_rows
    from opsdoc.workbook.blank import new_workbook

    values = ["a<b&c", date(2026, 1, 2), 10**400, datetime(2026, 1, 2, 12, 30), 1e-07, float("nan")]
    values += [datetime(2026, 1, 2, tzinfo=UTC), True, "x\ufffey", "=cmd|' /C calc'!A0", " 前后空格 "]
    path = tmp_path / "写入.xlsx"
    path.write_bytes(with_rows(new_workbook(), {"修订记录": [values]}))  # B, D and F are its date columns
    row = [c.value for c in openpyxl.load_workbook(path)["修订记录"][2]]
    assert row[:6] == ["a<b&c", datetime(2026, 1, 2), "1" + "0" * 400, datetime(2026, 1, 2, 12, 30), 1e-07, "nan"]
    assert row[6:] == ["2026-01-02 00:00:00+00:00", True, "x\\ufffey", "=cmd|' /C calc'!A0", " 前后空格 "]
