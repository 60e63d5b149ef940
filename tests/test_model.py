"""The contract's value types: dates, numbers, multi-line text, choices."""

from datetime import date

import pytest
from pydantic import TypeAdapter, ValidationError

from opsdoc.contract.model import SHEETS, Day, Number, Paragraphs, Score


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("20260301", date(2026, 3, 1)),
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026.03.01", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 3, 1)),
    ],
)
def test_dates_in_every_contract_format(typed, expected):
    assert TypeAdapter(Day).validate_python(typed) == expected


@pytest.mark.parametrize(
    "typed", ["2026-02-30", "20261301", 20260301, 1795737600, 45000.0, "2026-03/01", "下月初", "2026年3月"]
)
def test_not_dates(typed):
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Day).validate_python(typed)
    assert caught.value.errors()[0]["type"] == "bad-date"


def test_numbers_accept_numeric_text_and_refuse_words():
    assert TypeAdapter(Number).validate_python("1,200.5") == 1200.5
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Number).validate_python("十五")
    assert caught.value.errors()[0]["type"] == "bad-number"


def test_scores_are_whole_numbers_from_one_to_five():
    assert TypeAdapter(Score).validate_python(5) == 5
    for bad, code in [(6, "bad-choice"), (0, "bad-choice"), (2.5, "bad-number")]:
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(Score).validate_python(bad)
        assert caught.value.errors()[0]["type"] == code


def test_multi_line_text_becomes_paragraphs():
    assert TypeAdapter(Paragraphs).validate_python("第一段\n\n  第二段  \n") == ["第一段", "第二段"]


def test_contract_sheets_and_headers():
    """The public contract of workbook-contract.md: names that must never change."""
    titles = [s.title for s in SHEETS]
    assert titles == [
        "文档信息",
        "修订记录",
        "项目背景",
        "补充说明",
        "组织职责",
        "服务目标",
        "服务范围",
        "服务周期",
        "服务目录",
        "服务级别协议",
        "工作计划",
        "项目管理",
        "服务报告",
        "风险登记",
        "预算",
        "质量与验收",
        "资源计划",
        "服务工具",
        "工作规范",
        "绩效考核",
        "服务合同",
        "合同指标",
    ]
    headers = {s.title: [c.label for c in s.columns] for s in SHEETS}
    assert headers["修订记录"] == [
        "文件版本",
        "修订日期",
        "修订人",
        "审核日期",
        "审核人",
        "批准日期",
        "批准人",
        "修订说明",
    ]
    assert headers["服务级别协议"] == ["级别", "定义", "响应时间(分钟)", "到场时间(分钟)", "解决时间(小时)", "服务时间"]
    assert headers["文档信息"] == [
        "项目名称",
        "客户名称",
        "文件编码",
        "版本号",
        "编制单位",
        "运维服务部门经理",
        "密级",
        "受控状态",
        "生效日期",
        "服务目录评审日期",
        "客户确认人",
        "工作计划调整日期",
    ]


@pytest.mark.parametrize("day", [date(2026, 8, 20), date(2026, 12, 1), date(2027, 1, 31)])
def test_prose_dates_read_back_as_printed(day):
    from opsdoc.contract.shown import PROSE_DAY

    assert PROSE_DAY.read(PROSE_DAY.show(day)) == day
    with pytest.raises(ValueError):
        PROSE_DAY.read("20260820")


# Each contract version and the fingerprint of the sheets, headers and values it stands for.
CONTRACT_FINGERPRINTS = {"1.0": "ee3b0b2015eded34"}


def test_the_contract_version_moves_with_the_contract():
    """A change to the sheets, headers or values must raise CONTRACT_VERSION (and record it here)."""
    import hashlib

    from opsdoc.contract.model import CONTRACT_VERSION

    shape = [
        (s.title, s.is_table, s.required, [(c.label, c.required, c.choices, c.kind) for c in s.columns]) for s in SHEETS
    ]
    fingerprint = hashlib.sha256(repr(shape).encode()).hexdigest()[:16]
    assert CONTRACT_FINGERPRINTS.get(CONTRACT_VERSION) == fingerprint, (
        f"the contract changed: raise CONTRACT_VERSION in opsdoc/contract/model.py and record {fingerprint}"
    )
