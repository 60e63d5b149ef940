"""Importing the documents companies actually have: not made from the template, written in every shape.

Each document here is typed as people write them (python-docx, no opsdoc template): a 实施方案 with a
version table of the most common real form, an SLA table in other words, text straight under chapter
headings, a table that is half a 组织职责, a table no sheet holds, and a document that is no
specification at all. What lands in the workbook is what the document says; the rest is reported.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import openpyxl
from click.testing import CliRunner

from opsdoc.cli import main
from opsdoc.importer import import_document


def _table(document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text


def _real_world(path: Path) -> Path:
    """An O&M 实施方案 as a company writes it: its own title page, its own words."""
    document = docx.Document()
    document.add_paragraph("滨海市第一人民医院信息系统运维实施方案")
    document.add_paragraph("启泰信息技术有限公司")
    document.add_paragraph("版本记录")
    _table(
        document,
        [
            ["版本号", "编辑人", "更新日期", "相关主管审核", "更新内容"],
            ["V1.0", "周建峰", "2025-08-20", "吴海燕", "首次编制"],
            ["V1.1", "周建峰", "2026.3.1", "吴海燕", "调整服务级别"],
        ],
    )
    document.add_heading("一、项目概述", level=1)
    document.add_paragraph("医院现有HIS、EMR、PACS等核心系统，需要7×24小时运维保障。")
    document.add_paragraph("本方案适用于2026年度的运维服务。")
    document.add_heading("二、服务水平协议", level=1)
    _table(
        document,
        [
            ["优先级", "定义", "响应时间", "到达时间", "解决时间"],
            ["P1", "全院核心业务中断", "15分钟", "30分钟", "2小时"],
            ["P2", "单个科室业务受影响", "30分钟", "2小时", "8小时"],
        ],
    )
    document.add_heading("三、人员安排", level=1)
    _table(document, [["姓名", "职位", "备注"], ["周建峰", "服务项目经理", "兼质量员"]])
    _table(document, [["序号", "设备名称", "数量"], ["1", "核心交换机", "2"]])
    document.add_heading("四、应急预案", level=1)
    document.add_paragraph("发生重大故障时立即启动应急预案，30分钟内向院方报告。")
    document.save(path)
    return path


def test_a_real_world_plan_lands_where_it_belongs_and_the_rest_is_reported(tmp_path):
    source = _real_world(tmp_path / "实施方案.docx")
    result = import_document(source, tmp_path / "导入.xlsx")
    book = openpyxl.load_workbook(tmp_path / "导入.xlsx")

    # the most common real version table: 版本号/编辑人/更新日期/相关主管审核/更新内容
    history = [[c.value for c in row] for row in book["修订记录"].iter_rows(min_row=2) if row[0].value]
    assert [row[:3] for row in history] == [["V1.0", "2025-08-20", "周建峰"], ["V1.1", "2026-03-01", "周建峰"]] or [
        (row[0], str(row[1])[:10], row[2]) for row in history
    ] == [("V1.0", "2025-08-20", "周建峰"), ("V1.1", "2026-03-01", "周建峰")]
    assert [row[4] for row in history] == ["吴海燕", "吴海燕"]  # 相关主管审核 → 审核人
    assert [row[-1] for row in history] == ["首次编制", "调整服务级别"]  # 更新内容 → 修订说明

    # the SLA in other words: 优先级 → 级别, 到达时间 → 到场时间, minutes and hours converted
    sla = [[c.value for c in row] for row in book["服务级别协议"].iter_rows(min_row=2) if row[0].value]
    assert [row[:5] for row in sla] == [
        ["P1", "全院核心业务中断", 15, 30, 2],
        ["P2", "单个科室业务受影响", 30, 120, 8],
    ]

    # text straight under a chapter heading: that chapter's 补充说明, said once per chapter
    notes = [(row[0].value, row[1].value) for row in book["补充说明"].iter_rows(min_row=2) if row[1].value]
    assert notes == [(1, "医院现有HIS、EMR、PACS等核心系统，需要7×24小时运维保障。\n本方案适用于2026年度的运维服务。")]
    kept = [f for f in result.report.findings if f.code == "import-text-kept"]
    assert len(kept) == 1 and "第1章（项目背景）有 2 段文字" in kept[0].message

    # nothing guessed: the title and the company are not put into 编制单位 on a weak guess
    info = {row[0].value: row[1].value for row in book["文档信息"].iter_rows()}
    assert info["编制单位"] is None and info["项目名称"] is None

    # a table half a 组织职责 is suggested, with the columns that match; one no sheet holds says so
    unknown = [f.message for f in result.report.findings if f.code == "import-unknown-table"]
    assert any("看起来是「组织职责」" in m and "职位→岗位" in m for m in unknown), unknown
    staff = [f.message for f in result.report.findings if getattr(f.location, "excerpt", None) == "三、人员安排"]
    assert staff and "最接近的是第2章「组织职责」" in staff[0]
    assert any(m.endswith("请把内容填入对应的工作表") for m in unknown)
    # a chapter heading the template lacks is reported, and so is the text under it: it has no chapter
    heading = [f.message for f in result.report.findings if getattr(f.location, "excerpt", None) == "四、应急预案"]
    assert heading and "这个一级标题不是模板的章节" in heading[0]
    under = [f for f in result.report.findings if str(getattr(f.location, "excerpt", "")).startswith("发生重大故障")]
    assert [f.code for f in under] == ["import-foreign-paragraph"]

    # the summary says what was placed and that this is not the company template
    assert result.summary.startswith("放入 ")
    assert "修订记录 " in result.summary and "服务级别协议 " in result.summary
    # the title and company lines, the 2 kept, the two unknown headings and the paragraph under one of them
    # (版本记录 is the history's heading)
    assert "需要查看：7 段文字、2 个表格" in result.summary
    assert "10 个章节只认出 2 个" in result.summary  # 项目背景 (项目概述), 服务目录和服务级别协议 (服务水平协议)
    assert "这份文档不是按公司模板写的" in result.summary


def test_a_document_that_is_no_specification_places_nothing_and_says_so(tmp_path):
    document = docx.Document()
    document.add_paragraph("关于召开2026年度工作会议的通知")
    document.add_paragraph("各部门：定于12月20日召开年度工作会议，请准时参加。")
    _table(document, [["时间", "地点"], ["12月20日", "三楼会议室"]])
    document.save(tmp_path / "通知.docx")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "通知.docx"), "-o", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]  # the report opens with its summary
    assert first.startswith(f"{tmp_path / '通知.docx'}：放入 0 个值；需要查看：2 段文字、1 个表格（见下）")
    assert "这份文档不是按公司模板写的：10 个章节只认出 0 个" in first


def test_a_companys_own_words_come_from_opsdoc_toml(tmp_path):
    document = docx.Document()
    _table(
        document,
        [
            ["版本标识", "编辑人", "更新日期", "审批意见", "更新内容"],
            ["V1.0", "周建峰", "2025-08-20", "同意", "首次编制"],
        ],
    )
    document.save(tmp_path / "a.docx")
    without = import_document(tmp_path / "a.docx", tmp_path / "without.xlsx")
    assert not openpyxl.load_workbook(tmp_path / "without.xlsx")["修订记录"]["A2"].value
    assert any("看起来是「修订记录」" in f.message for f in without.report.findings)
    (tmp_path / "opsdoc.toml").write_text('[synonyms.headers]\n"文件版本" = ["版本标识"]\n', encoding="utf-8")
    with_words = import_document(tmp_path / "a.docx", tmp_path / "with.xlsx")
    assert openpyxl.load_workbook(tmp_path / "with.xlsx")["修订记录"]["A2"].value == "V1.0"
    assert "修订记录 " in with_words.summary


def _with_body(
    source: Path, target: Path, body_xml: str, extra: dict[str, bytes] | None = None, rels: str = ""
) -> Path:
    """`source` with `body_xml` put before its final section properties (and parts and relationships added)."""
    with zipfile.ZipFile(source) as package:
        members = {n: package.read(n) for n in package.namelist()}
    document = members["word/document.xml"].decode("utf-8")
    at = document.rindex("<w:sectPr")
    members["word/document.xml"] = (document[:at] + body_xml + document[at:]).encode("utf-8")
    if rels:
        members["word/_rels/document.xml.rels"] = members["word/_rels/document.xml.rels"].replace(
            b"</Relationships>", rels.encode() + b"</Relationships>"
        )
    members.update(extra or {})
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>", b'<Default Extension="htm" ContentType="application/xhtml+xml"/></Types>'
    )
    with zipfile.ZipFile(target, "w") as package:
        for name, data in members.items():
            package.writestr(name, data)
    return target


def _plain(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("项目背景", level=1)
    document.save(path)
    return path


def test_what_opsdoc_cannot_read_is_reported_not_dropped(tmp_path):
    chunk = _with_body(
        _plain(tmp_path / "plain.docx"),
        tmp_path / "chunk.docx",
        '<w:altChunk xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rIdChunk"/>',
        {"word/chunk.htm": "<html><body><p>旧系统说明</p></body></html>".encode()},
        '<Relationship Id="rIdChunk" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk"'
        ' Target="chunk.htm"/>',
    )
    result = import_document(chunk, tmp_path / "chunk.xlsx")
    [unread] = [f for f in result.report.findings if f.code == "import-unreadable-content"]
    assert "/word/chunk.htm" in unread.message and unread.is_error


def test_a_pending_move_is_read_once_at_its_new_place(tmp_path):
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    moved = (
        f'<w:p {w}><w:moveFrom w:id="1" w:author="a" w:date="2026-01-01T00:00:00Z"><w:r><w:t>医院有三个院区。</w:t></w:r>'
        f"</w:moveFrom></w:p><w:p {w}><w:r><w:t>本项目覆盖全院。</w:t></w:r></w:p>"
        f'<w:p {w}><w:moveTo w:id="2" w:author="a" w:date="2026-01-01T00:00:00Z"><w:r><w:t>医院有三个院区。</w:t></w:r>'
        "</w:moveTo></w:p>"
    )
    source = _with_body(_plain(tmp_path / "plain.docx"), tmp_path / "moved.docx", moved)
    import_document(source, tmp_path / "moved.xlsx")
    notes = [row[1].value for row in openpyxl.load_workbook(tmp_path / "moved.xlsx")["补充说明"].iter_rows(min_row=2)]
    assert notes[0] == "本项目覆盖全院。\n医院有三个院区。"  # once, where it was moved to


def test_a_value_longer_than_a_cell_is_cut_there_and_reported_at_its_cell(tmp_path):
    document = docx.Document()
    document.add_heading("项目背景", level=1)
    document.add_paragraph("长" * 40_000)
    document.save(tmp_path / "long.docx")
    result = import_document(tmp_path / "long.docx", tmp_path / "long.xlsx")
    [cut] = [f for f in result.report.findings if f.code == "import-value-too-long"]
    assert "40000 个字符" in cut.message and str(cut.location) == "补充说明!B2"
    assert len(openpyxl.load_workbook(tmp_path / "long.xlsx")["补充说明"]["B2"].value) == 32_767


def test_a_synonym_never_takes_a_column_from_its_own_header(tmp_path):
    """备注 stands for 修订说明 in a version table, but not beside a 修订说明 column: that one keeps it."""
    document = docx.Document()
    _table(
        document,
        [
            ["文件版本", "修订日期", "修订人", "修订说明", "备注"],
            ["V1.0", "2025-08-20", "周建峰", "首次编制", "纸质版已归档"],
        ],
    )
    document.save(tmp_path / "a.docx")
    result = import_document(tmp_path / "a.docx", tmp_path / "a.xlsx")
    history = openpyxl.load_workbook(tmp_path / "a.xlsx")["修订记录"]
    assert [c.value for c in history[2]][:3] == ["V1.0", history["B2"].value, "周建峰"]
    assert history["H2"].value == "首次编制"
    [extra] = [f for f in result.report.findings if f.code == "import-extra-column"]
    assert "「备注」" in extra.message


def test_a_bid_with_its_own_headings_and_words(tmp_path):
    """A 投标书's shapes: numbered headings of its own, 故障级别 written 一级, 修订内容, 考核项 and 权重 in %."""
    document = docx.Document()
    document.add_heading("1 修订记录", level=1)  # the history's heading, as many documents call it
    _table(
        document,
        [
            ["版本", "日期", "修订人", "审核", "批准", "修订内容"],
            ["V1.0", "2025年8月1日", "张三", "李四", "王五", "初稿"],
        ],
    )
    document.add_heading("2 服务级别", level=1)
    _table(
        document,
        [
            ["故障级别", "故障描述", "响应时间（分钟）", "到场时间", "解决时间（小时）"],
            ["一级", "全院停机", "10", "30分钟", "4"],
            ["二级", "单科室停机", "30", "2小时", "8"],
        ],
    )
    document.add_heading("3 考核办法", level=1)
    _table(document, [["考核项", "权重", "目标值", "评分标准"], ["响应及时率", "30%", "≥95%", "每低1%扣1分"]])
    document.save(tmp_path / "bid.docx")
    result = import_document(tmp_path / "bid.docx", tmp_path / "bid.xlsx")
    book = openpyxl.load_workbook(tmp_path / "bid.xlsx")
    history = [c.value for c in book["修订记录"][2]]
    assert (history[0], history[2], history[4], history[6], history[7]) == ("V1.0", "张三", "李四", "王五", "初稿")
    assert [[c.value for c in row][:5] for row in book["服务级别协议"].iter_rows(min_row=2, max_row=3)] == [
        ["P1", "全院停机", 10, 30, 4],
        ["P2", "单科室停机", 30, 120, 8],
    ]
    assert [c.value for c in book["绩效考核"][2]][:4] == ["响应及时率", 30, "≥95%", "每低1%扣1分"]
    assert not [f for f in result.report.findings if f.code in ("import-foreign-paragraph", "import-unknown-table")]


def _imported(tmp_path: Path, build) -> tuple[object, openpyxl.Workbook]:
    document = docx.Document()
    build(document)
    document.save(tmp_path / "d.docx")
    result = import_document(tmp_path / "d.docx", tmp_path / "d.xlsx")
    return result, openpyxl.load_workbook(tmp_path / "d.xlsx")


def _rows(book: openpyxl.Workbook, sheet: str, width: int) -> list[list[object]]:
    return [[c.value for c in row][:width] for row in book[sheet].iter_rows(min_row=2) if row[0].value is not None]


def test_a_unit_in_a_header_converts_the_numbers_under_it_or_they_are_reported(tmp_path):
    def build(document):
        document.add_heading("服务目录和服务级别协议", 1)
        _table(
            document,
            [
                ["级别", "定义", "响应时间(小时)", "到场时间(小时)", "解决时间(天)"],
                ["P1", "核心系统中断", "0.5", "1", "1"],
            ],
        )
        document.add_heading("项目管理", 1)
        _table(document, [["预算项", "类别", "金额(万元)", "说明"], ["人工", "人员", "50", ""], ["合计", "", "50", ""]])

    result, book = _imported(tmp_path, build)
    assert _rows(book, "服务级别协议", 5) == [["P1", "核心系统中断", 30, 60, None]]  # 1天: no hours on a guess
    assert _rows(book, "预算", 3) == [["人工", "人员", 500000]]
    codes = [f.code for f in result.report.findings if f.location is not None]
    assert codes.count("import-ambiguous-value") == 1 and "import-total-mismatch" not in codes  # 合计 50万元 adds up


def test_a_version_table_in_separate_columns_keeps_each_name_and_date_in_its_own_cell(tmp_path):
    def build(document):
        _table(
            document,
            [
                ["版本号", "编辑人", "更新日期", "审核", "批准", "更新内容"],
                ["V1.0", "张三", "2024/3/1", "李四\n2024.1.2", "王五/2024/1/5", "首次发布"],
            ],
        )

    _, book = _imported(tmp_path, build)
    (row,) = _rows(book, "修订记录", 8)
    assert (row[0], str(row[1])[:10], row[2], str(row[3])[:10], row[4], str(row[5])[:10], row[6], row[7]) == (
        "V1.0",
        "2024-03-01",
        "张三",
        "2024-01-02",
        "李四",
        "2024-01-05",
        "王五",
        "首次发布",
    )


def test_generic_headers_alone_never_make_a_table_a_sheets_and_equal_guesses_place_nothing(tmp_path):
    def build(document):
        document.add_heading("目标和范围", 1)
        _table(
            document,
            [["阶段", "工作内容", "起止时间", "说明"], ["启动", "人员进场", "2024年1月1日至2024年1月31日", ""]],
        )
        document.add_heading("服务目录和服务级别协议", 1)
        _table(
            document,
            [["优先级", "等级", "定义", "响应时间", "到场时间", "解决时间"], ["P1", "一级", "中断", "15", "30", "4"]],
        )

    result, book = _imported(tmp_path, build)
    assert _rows(book, "服务周期", 3) == []  # 起止时间 and 说明 are not what makes a 服务周期 table
    unknown = [f.message for f in result.report.findings if f.code == "import-unknown-table"]
    assert any("看起来是「服务周期」" in m for m in unknown)
    sla = [[c.value for c in row][:5] for row in book["服务级别协议"].iter_rows(min_row=2) if row[1].value]
    assert sla == [[None, "中断", 15, 30, 4]]
    [extra] = [f.message for f in result.report.findings if f.code == "import-extra-column"]
    assert "「优先级、等级」" in extra  # both say 级别 as surely as each other: neither is taken


def test_a_cover_date_line_is_never_the_编制单位_and_a_two_row_header_is_no_record(tmp_path):
    def build(document):
        _table(document, [["客户名称", "滨海市第一人民医院"], ["密级", "内部"], ["受控状态", "受控"]])
        document.add_paragraph("二〇二四年三月")
        document.add_heading("服务目录和服务级别协议", 1)
        table = document.add_table(rows=4, cols=5)
        for c, text in enumerate(["级别", "定义", "响应时间", "", "解决时间"]):
            table.cell(0, c).text = text
        for c, text in enumerate(["级别", "定义", "工作时间", "非工作时间", "解决时间"]):
            table.cell(1, c).text = text
        for r, values in enumerate((["P1", "中断", "15", "30", "4"], ["P2", "异常", "30", "60", "8"]), start=2):
            for c, text in enumerate(values):
                table.cell(r, c).text = text

    result, book = _imported(tmp_path, build)
    info = {row[0].value: row[1].value for row in book["文档信息"].iter_rows()}
    assert info["编制单位"] is None and info["客户名称"] == "滨海市第一人民医院"
    assert _rows(book, "服务级别协议", 5) == [["P1", "中断", 15, None, 4], ["P2", "异常", 30, None, 8]]
    assert any("「非工作时间」" in f.message for f in result.report.findings if f.code == "import-extra-column")
