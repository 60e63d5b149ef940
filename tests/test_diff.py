"""opsdoc diff: two builds of the sample that differ in a few cells; the diff names exactly those."""

from __future__ import annotations

import copy
import json

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from opsdoc.api import build
from opsdoc.cli import main
from opsdoc.errors import UnusableDocument
from opsdoc.qa.align import opcodes
from opsdoc.qa.diff import _diff_rows, diff_documents
from tests.support import NEW_VERSION, P1_FASTER, SAMPLE, SAMPLE_DOCX, edit_sample


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """V2.0 built now from the sample, with the same template as the new versions it is compared with."""
    result = build(SAMPLE, tmp_path_factory.mktemp("issued"))
    assert result.output is not None, result.report.to_text()
    return result.output


def built(tmp_path, changes, **edits):
    path = edit_sample(tmp_path, {**NEW_VERSION, **changes}, **edits)
    result = build(path, tmp_path / "out")
    assert result.output is not None, result.report.to_text()
    return result.output


def changes(diff) -> list[tuple]:
    rows = [(p.label, t.name, r.change, r.key, r.columns) for p in diff.parts for t in p.tables for r in t.rows]
    paragraphs = [(p.label, c.change, c.section, c.old, c.new) for p in diff.parts for c in p.paragraphs]
    return rows + paragraphs


def test_catalog_rows_added_and_a_response_time_changed(tmp_path, issued):
    new = built(
        tmp_path,
        {
            "服务目录!A14": "SC-13",
            "服务目录!B14": "安全",
            "服务目录!C14": "等保测评配合",
            "服务目录!D14": "配合年度等保测评，提供资产清单和整改记录",
            "服务目录!E14": "现场",
            "服务目录!F14": "5×8",
            "服务目录!G14": "P3",
            "服务目录!H14": "整改报告",
            "服务目录!A15": "SC-14",
            "服务目录!B15": "数据",
            "服务目录!C15": "数据质量巡检",
            "服务目录!D15": "每月抽查主数据质量",
            "服务目录!E15": "远程",
            "服务目录!F15": "5×8",
            "服务目录!G15": "P4",
            "服务目录!H15": "数据质量月报",
            **P1_FASTER,
        },
    )
    diff = diff_documents(issued, new)
    # The cover's version and date and the new history row change every time: not in 修订说明.
    assert diff.summary_lines() == [
        "第4章：服务目录新增SC-13“等保测评配合”、SC-14“数据质量巡检”；P1响应时间由15分钟调整为10分钟",
        "第10章：P1级故障处理时限合同约定值由“响应15分钟，到场30分钟，2小时内恢复”调整为“响应10分钟，到场30分钟，2小时内恢复”",
    ]
    assert changes(diff) == [
        *[("封面", "封面", "changed", line, ()) for line in ("编制", "审核", "批准", "发布日期", "实施日期")],
        ("文件版本历史", "文件版本历史", "added", "V2.1", ()),
        ("第4章", "服务目录", "added", "SC-13", ()),
        ("第4章", "服务目录", "added", "SC-14", ()),
        ("第4章", "服务级别协议", "changed", "P1", ("响应时间",)),
        ("第10章", "合同指标", "changed", "P1级故障处理时限", ("合同约定值",)),
        ("封面", "changed", "", "版本号：V2.0", "版本号：V2.1"),
    ]
    text = diff.to_text()
    assert "  服务级别协议 修改 P1 响应时间：15 → 10" in text
    assert text.endswith(
        "修订说明摘要：\n第4章：服务目录新增SC-13“等保测评配合”、SC-14“数据质量巡检”；P1响应时间由15分钟调整为10分钟"
        "\n第10章：P1级故障处理时限合同约定值由“响应15分钟，到场30分钟，2小时内恢复”调整为“响应10分钟，到场30分钟，2小时内恢复”"
    )
    data = json.loads(diff.to_json())
    assert data["summary"] == diff.summary_lines()
    assert data["parts"][2]["tables"][1]["rows"][0]["old"][2] == "15"


def test_paragraphs_rows_with_shared_first_cells_and_removed_rows(tmp_path, issued):
    book = openpyxl.load_workbook(SAMPLE)
    background = book["项目背景"]["B1"].value
    first_line = background.split("\n")[0]
    new = built(
        tmp_path,
        {
            "项目背景!B1": background.replace(first_line, first_line.replace("三级甲等综合医院", "三级甲等综合性医院")),
            "工作计划!B10": "完成等保2.0三级测评遗留中、高风险项整改及复测",
            "补充说明!A4": 9,
            "补充说明!B4": "考核结果每季度向医院信息科通报。",
        },
        delete_rows=[("风险登记", 5)],
    )
    diff = diff_documents(issued, new)
    assert diff.summary_lines() == [
        "第1章：建设背景将“综合医院”修改为“综合性医院”",
        "第5章：任务分解计划任务将“配合HIS厂商完成医保结算接口升级及切换…”修改为“完成等保2.0三级测评遗留中…”",
        "第6章：风险登记删除R-04",
        "第9章：正文新增“考核结果每季度向医院信息科通报。”",
    ]
    assert changes(diff) == [
        *[("封面", "封面", "changed", line, ()) for line in ("编制", "审核", "批准", "发布日期", "实施日期")],
        ("文件版本历史", "文件版本历史", "added", "V2.1", ()),
        ("第5章", "年度服务工作计划", "changed", "任务分解计划", ("任务",)),
        ("第6章", "风险登记", "removed", "R-04", ()),
        ("封面", "changed", "", "版本号：V2.0", "版本号：V2.1"),
        ("第1章", "changed", "建设背景", first_line, first_line.replace("三级甲等综合医院", "三级甲等综合性医院")),
        ("第9章", "added", "", None, "考核结果每季度向医院信息科通报。"),
    ]


def test_identical_documents_have_no_differences():
    diff = diff_documents(SAMPLE_DOCX, SAMPLE_DOCX)
    assert diff.parts == [] and diff.summary_lines() == []
    assert diff.to_text().endswith("内容相同（目录页不比较）")


def test_a_file_that_is_not_a_docx(tmp_path):
    path = tmp_path / "旧版.docx"
    path.write_text("not a document")
    with pytest.raises(UnusableDocument):
        diff_documents(SAMPLE_DOCX, path)


def test_a_table_inserted_above_the_budget_is_one_new_table(tmp_path):
    document = docx.Document(SAMPLE_DOCX)
    budget = next(t for t in document.tables if t.rows[0].cells[0].text == "预算项")
    inserted = copy.deepcopy(document.tables[3]._tbl)  # the team table, a header and five rows
    budget._tbl.addprevious(inserted)
    path = tmp_path / "inserted.docx"
    document.save(path)
    diff = diff_documents(SAMPLE_DOCX, path)
    assert [(p.label, t.header[:2], {r.change for r in t.rows}, len(t.rows)) for p in diff.parts for t in p.tables] == [
        ("第6章", ("姓名", "岗位"), {"added"}, 5)
    ]


def test_long_registers_align_by_key_in_linear_time():
    """25,000 rows a side, one in ten edited, some inserted and removed: quadratic matching takes minutes."""
    old = [(f"R-{i:06d}", "风险", f"措施{i}") for i in range(25_000)]
    new = [(key, kind, text + "（已复核）" if i % 10 == 0 else text) for i, (key, kind, text) in enumerate(old)]
    new = [*new[:100], ("R-X", "新增", "新措施"), *new[300:]]
    changes = _diff_rows(old, new, ("风险编号", "风险类别", "措施"))
    kinds = {c: sum(r.change == c for r in changes) for c in ("added", "removed", "changed")}
    assert kinds == {"added": 1, "removed": 200, "changed": 2480}
    texts = [f"第{i % 3000}段" for i in range(100_000)]
    assert opcodes(texts, texts) == [("equal", 0, 100_000, 0, 100_000)]


def test_a_workbook_never_built_is_compared_in_memory(tmp_path, issued):
    workbook = edit_sample(tmp_path, {**NEW_VERSION, **P1_FASTER}, name="我的项目.xlsx")
    result = CliRunner().invoke(main, ["diff", str(issued), str(workbook), "--note"])
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "第4章：P1响应时间由15分钟调整为10分钟；第10章：P1级故障处理时限合同约定值由“响应15分钟，到场30分钟，2小时内恢复”调整为“响应10分钟，到场30分钟，2小时内恢复”\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["我的项目.xlsx"]  # nothing written


def test_a_workbook_with_errors_is_exit_1_with_its_findings(tmp_path, issued):
    workbook = edit_sample(tmp_path, {**NEW_VERSION, "文档信息!B4": None})
    result = CliRunner().invoke(main, ["diff", str(issued), str(workbook)])
    assert result.exit_code == 1
    assert "版本号" in result.output and "无法生成新版本进行比较" in result.output


def test_identical_versions_have_an_empty_note(issued):
    result = CliRunner().invoke(main, ["diff", str(issued), str(issued), "--note"])
    assert (result.exit_code, result.output) == (0, "")


def test_the_note_is_one_cells_text_in_whole_words(issued, tmp_path):
    """Pasted into 修订说明 it is one cell: chapters joined with ；, a changed number quoted with its unit."""
    background = openpyxl.load_workbook(SAMPLE)["项目背景"]["B1"].value
    changes = {**NEW_VERSION, **P1_FASTER, "项目背景!B1": background.replace("在编人员12人", "在编人员14人")}
    result = CliRunner().invoke(main, ["diff", str(issued), str(edit_sample(tmp_path, changes)), "--note"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("第1章：") and "；第4章：" in line and "；第10章：" in line
    assert "将“12人”修改为“14人”" in line


@pytest.mark.parametrize("note", [None, "待填写", "〔待填写〕"])
def test_diff_compares_while_the_new_versions_note_is_still_to_be_written(issued, tmp_path, note):
    workbook = edit_sample(tmp_path, {**NEW_VERSION, **P1_FASTER, "修订记录!H6": note})
    result = CliRunner().invoke(main, ["diff", str(issued), str(workbook), "--note"])
    assert result.exit_code == 0, result.output
    assert "修订说明（修订记录!H6）尚未填写" in result.output
    assert "P1响应时间由15分钟调整为10分钟" in result.output


def test_diff_still_refuses_a_workbook_with_other_errors(issued, tmp_path):
    workbook = edit_sample(tmp_path, {**NEW_VERSION, "修订记录!H6": None, "文档信息!B2": None})
    assert CliRunner().invoke(main, ["diff", str(issued), str(workbook)]).exit_code == 1


def test_a_long_first_token_is_cut_not_lost():
    from opsdoc.qa.diff import _short

    assert _short("Zabbix-Prometheus-Grafana-Alertmanager监控平台") == "Zabbix-Prometheus-Gr…"
