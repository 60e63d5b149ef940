"""Every consistency rule: a copy of the sample that breaks exactly that rule, found at its cell."""

import json
from datetime import date

import pytest
from click.testing import CliRunner

from opsdoc.api import check
from opsdoc.cli import main
from opsdoc.contract.findings import CATALOGUE, Stage, codes_of
from opsdoc.workbook.rules import CHECKS
from tests.support import SAMPLE, edit_sample

# Each case changes the clean sample so that exactly one rule fires: (cell changes, [(code, cell)]).
# A cell of None means the finding points at the whole sheet.
CASES = {
    "cover-version-mismatch": ({"文档信息!B4": "V2.1"}, [("cover-version-mismatch", "文档信息!B4")]),
    "version-format": ({"修订记录!A3": "1.1"}, [("version-format", "修订记录!A3")]),
    "version-order": ({"修订记录!A4": "V0.9"}, [("version-order", "修订记录!A4")]),
    "revision-note": ({"修订记录!H3": "修改"}, [("revision-note", "修订记录!H3")]),
    "revision-date-order": ({"修订记录!D3": date(2025, 8, 30)}, [("revision-date-order", "修订记录!D3")]),
    "revision-chronology": ({"修订记录!B3": date(2025, 3, 15)}, [("revision-chronology", "修订记录!B3")]),
    "self-approval": ({"修订记录!G3": "周建峰"}, [("self-approval", "修订记录!G3")]),
    "effective-date": ({"文档信息!B9": date(2026, 9, 1)}, [("effective-date", "文档信息!B9")]),
    # A draft throughout (cover and every revision row), still marked 受控.
    "draft-controlled": (
        {
            "文档信息!B4": "V0.4",
            "修订记录!A2": "V0.1",
            "修订记录!A3": "V0.2",
            "修订记录!A4": "V0.3",
            "修订记录!A5": "V0.4",
        },
        [("draft-controlled", "文档信息!B8")],
    ),
    "team-manager-count": ({"组织职责!B3": "服务项目经理"}, [("team-manager-count", "组织职责!B3")]),
    "team-engineers": (
        {"组织职责!B3": "其他", "组织职责!B4": "其他", "组织职责!B5": "其他", "组织职责!B6": "其他"},
        [("team-engineers", None)],
    ),
    "goal-coverage": ({"服务目标!A8": "客户业务目标", "服务目标!A9": "客户业务目标"}, [("goal-coverage", None)]),
    "period-order": ({"服务周期!C3": date(2026, 4, 1)}, [("period-order", "服务周期!C3")]),
    "catalog-coverage": ({"服务目录!B13": "系统"}, [("catalog-coverage", None)]),
    "catalog-sla-ref": ({"服务目录!G2": "P5"}, [("catalog-sla-ref", "服务目录!G2")]),
    "sla-monotonic": (
        {"服务级别协议!C3": 10, "合同指标!B3": "响应10分钟，到场120分钟，8小时内恢复"},
        [("sla-monotonic", "服务级别协议!C3")],
    ),
    "catalog-review-age": ({"文档信息!B10": date(2025, 9, 14)}, [("catalog-review-age", "文档信息!B10")]),
    "plan-coverage": ({"工作计划!A6": "任务分解计划"}, [("plan-coverage", None)]),
    "plan-owner": ({"工作计划!C2": "张三"}, [("plan-owner", "工作计划!C2")]),
    "plan-adjust-age": ({"文档信息!B12": date(2026, 3, 14)}, [("plan-adjust-age", "文档信息!B12")]),
    "task-dates": ({"工作计划!E2": date(2026, 3, 31)}, [("task-dates", "工作计划!E2")]),
    "report-definition": ({"服务报告!B3": None}, [("report-definition", "服务报告!B3")]),
    "risk-level": ({"风险登记!F3": "较大"}, [("risk-level", "风险登记!F3")]),
    "risk-measures": ({"风险登记!G2": "升级前在测试环境完整演练"}, [("risk-measures", "风险登记!G2")]),
    "quality-coverage": ({"质量与验收!A9": "质量保障措施"}, [("quality-coverage", None)]),
    "resource-budget": ({"资源计划!E2": "否"}, [("resource-budget", "资源计划!E2")]),
    "resource-budget-line": (
        {"资源计划!F3": None, "资源计划!F4": "原厂维保"},
        [("resource-budget-line", "资源计划!F3"), ("resource-budget-line", "资源计划!F4")],
    ),
    "tool-coverage": ({"服务工具!A5": "系统远程管理类"}, [("tool-coverage", None)]),
    "norm-coverage": ({"工作规范!A6": "客户"}, [("norm-coverage", None)]),
    "kpi-weights": ({"绩效考核!B2": 35}, [("kpi-weights", "绩效考核!B2:B7")]),
    "contract-metrics": ({"合同指标!D5": None}, [("contract-metrics", None)]),
    "contract-sla-times": (
        {"服务级别协议!C2": 5, "服务级别协议!E2": 1},
        [("contract-sla-times", "合同指标!B2"), ("contract-sla-times", "合同指标!B2")],
    ),
    "contract-period": ({"服务合同!B6": date(2026, 3, 31)}, [("contract-period", "服务合同!B6")]),
    "effective-in-contract": ({"服务合同!B6": date(2026, 9, 14)}, [("effective-in-contract", "文档信息!B9")]),
    "duplicate-key": ({"风险登记!A3": "R-01"}, [("duplicate-key", "风险登记!A3")]),
}

# The codes of rules.md; they are a public interface and must all exist.
RULES_MD = [
    "missing-sheet",
    "missing-column",
    "missing-label",
    "missing-value",
    "bad-date",
    "bad-number",
    "bad-choice",
    "formula-no-value",
    "error-cell",
    "illegal-character",
    "placeholder-text",
    "duplicate-key",
    "cover-version-mismatch",
    "version-format",
    "version-order",
    "revision-note",
    "revision-date-order",
    "revision-chronology",
    "self-approval",
    "effective-date",
    "team-manager-count",
    "team-engineers",
    "goal-coverage",
    "period-order",
    "catalog-coverage",
    "catalog-sla-ref",
    "sla-monotonic",
    "catalog-review-age",
    "plan-coverage",
    "plan-owner",
    "plan-adjust-age",
    "task-dates",
    "report-definition",
    "risk-level",
    "risk-measures",
    "resource-budget",
    "resource-budget-line",
    "tool-coverage",
    "norm-coverage",
    "kpi-weights",
    "contract-metrics",
    "contract-period",
]


def located(report):
    return [(f.code, f.location.cell) for f in report.findings]


def test_the_clean_sample_has_no_finding():
    assert check(SAMPLE).report.findings == []


def test_every_rule_of_rules_md_is_registered_and_tested():
    assert set(RULES_MD) <= set(CATALOGUE)
    assert set(CHECKS) == {c.code for c in codes_of(Stage.RULES)}
    assert set(CHECKS) - {"file-code-format"} == set(CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_rule_finds_its_cell(tmp_path, code):
    changes, expected = CASES[code]
    report = check(edit_sample(tmp_path, changes)).report
    assert located(report) == expected
    assert all(f.severity == CATALOGUE[code].severity for f in report.findings)


def test_messages_name_the_values_and_the_related_cell(tmp_path):
    report = check(edit_sample(tmp_path, {"文档信息!B4": "V2.1"})).report
    (finding,) = report.findings
    assert finding.message == "封面版本号 V2.1 与修订记录最后一行的文件版本 V2.0 不一致"
    assert [str(r) for r in finding.related] == ["修订记录!A5"]


def test_risk_level_message_shows_the_arithmetic(tmp_path):
    (finding,) = check(edit_sample(tmp_path, {"风险登记!F3": "较大"})).report.findings
    assert "可能性 2 × 影响 3 = 6" in finding.message and "应为「一般」" in finding.message


def test_several_broken_rules_are_reported_in_one_run(tmp_path):
    changes = {
        **CASES["cover-version-mismatch"][0],
        **CASES["kpi-weights"][0],
        **CASES["plan-owner"][0],
        **CASES["resource-budget"][0],
    }
    report = check(edit_sample(tmp_path, changes)).report
    assert sorted(located(report)) == sorted(
        CASES["cover-version-mismatch"][1]
        + CASES["kpi-weights"][1]
        + CASES["plan-owner"][1]
        + CASES["resource-budget"][1]
    )


def test_company_conventions_from_opsdoc_toml(tmp_path):
    (tmp_path / "opsdoc.toml").write_text(
        'file_code_pattern = "QT-[A-Z]{2}-[A-Z]{2}-[A-Z0-9]+-\\\\d{3}"\n'
        'change_request_pattern = "BG\\\\d{6}"\n'
        "catalog_review_months = 24\n"
        '[risk_levels]\n"较大" = 10\n',
        encoding="utf-8",
    )
    path = edit_sample(tmp_path, {"文档信息!B3": "QT-YW-GF-001", "文档信息!B10": date(2025, 9, 14)})
    assert sorted(located(check(path).report)) == [
        ("file-code-format", "文档信息!B3"),  # the company pattern
        ("revision-note", "修订记录!H3"),  # WJGG-2025-047 is no change request number in this company
        ("risk-level", "风险登记!F4"),  # 3×3 = 9 is 一般 when 较大 starts at 10
    ]  # and the 12-month-old catalogue review is within the company's 24 months


def test_a_broken_config_is_a_clear_error(tmp_path):
    (tmp_path / "opsdoc.toml").write_text("catalog_review_months = '一年'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(edit_sample(tmp_path))])
    assert result.exit_code == 2 and "opsdoc.toml" in result.output and "catalog_review_months" in result.output


def test_check_exit_codes_strict_and_skip(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["check", str(SAMPLE)]).exit_code == 0
    warned = edit_sample(tmp_path, CASES["resource-budget"][0], name="warned.xlsx")
    assert runner.invoke(main, ["check", str(warned)]).exit_code == 0
    assert runner.invoke(main, ["check", str(warned), "--strict"]).exit_code == 1
    broken = edit_sample(tmp_path, CASES["kpi-weights"][0], name="broken.xlsx")
    assert runner.invoke(main, ["check", str(broken)]).exit_code == 1
    assert runner.invoke(main, ["check", str(broken), "--skip", "kpi-weights"]).exit_code == 0
    unknown = runner.invoke(main, ["check", str(broken), "--skip", "no-such-rule"])
    assert unknown.exit_code == 2 and "未知的代码：no-such-rule" in unknown.output
    other_stage = runner.invoke(main, ["check", str(broken), "--skip", "chapter-missing"])
    assert other_stage.exit_code == 2 and "chapter-missing 属于「文档核对」" in other_stage.output


def test_check_json_and_text_put_errors_first(tmp_path):
    changes = {**CASES["resource-budget"][0], **CASES["kpi-weights"][0]}
    path = edit_sample(tmp_path, changes)
    text = CliRunner().invoke(main, ["check", str(path)]).output.splitlines()
    assert text[0].startswith("绩效考核!B2:B7  错误 [kpi-weights]") and "警告 [resource-budget]" in text[1]
    data = json.loads(CliRunner().invoke(main, ["check", str(path), "--format", "json"]).output)
    assert (data["errors"], data["warnings"]) == (1, 1)
    assert data["findings"][0] == {
        "code": "kpi-weights",
        "severity": "E",
        "sheet": "绩效考核",
        "cell": "绩效考核!B2:B7",
        "related": [],
        "message": "权重合计为 105，应为 100",
    }


def test_rules_command_lists_every_code():
    output = CliRunner().invoke(main, ["rules"]).output
    for code in RULES_MD:
        assert code in output
