"""The document as data: pydantic models whose aliases are the workbook's sheets, headers and labels.

This module is the single statement of the workbook contract: the loader finds columns by
these aliases, the blank workbook takes its headers, hints, dropdowns and widths from them,
and validation errors are reported at the cell the alias was found in.
"""

from __future__ import annotations

import math
import re
import types
import typing
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError, PydanticUndefined

from opsdoc.contract.shown import DAY, MONEY, NUMBER, PARAGRAPHS, PROSE_DAY, TEXT, WHOLE, Displayed, Shown
from opsdoc.contract.vocabulary import RiskLevel, Role

# ---------------------------------------------------------------- cell value types


def _as_text(value: Any) -> Any:
    """Cells typed as numbers or dates still read as the text a manager sees."""
    if type(value) is str:  # most cells: text as typed
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Displayed):
        return value.shown
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value if isinstance(value, (str, list)) else str(value)


IDENTIFIER_CHARS = 100  # a file name holds 255 bytes; Word's core properties hold 255 characters


def _as_identifier(value: Any) -> Any:
    """Codes and versions as the file system and the rules must see them: an IME's full-width
    `Ｖ２．０` is `V2.0` (NFKC), so one version never has two spellings."""
    text = _as_text(value)
    if not isinstance(text, str):
        return text
    text = identifier(text)
    if len(text) > IDENTIFIER_CHARS:
        raise PydanticCustomError(
            "bad-value", "太长（共 {count} 个字符，最多 {limit} 个）", {"count": len(text), "limit": IDENTIFIER_CHARS}
        )
    hidden = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if hidden:  # a zero-width space or a bidi control makes a second code that looks like the first
        raise PydanticCustomError(
            "bad-value",
            "含有看不见的控制字符（{names}）：请删除后重新输入",
            {"names": "、".join(f"U+{ord(c):04X}" for c in hidden)},
        )
    if _LATIN.search(text) and _LOOKALIKE.search(text):
        raise PydanticCustomError(
            "bad-value",
            "混有外形与拉丁字母相同的西里尔或希腊字母（{letters}）：请用键盘重新输入",
            {"letters": "".join(_LOOKALIKE.findall(text))},
        )
    return text


_LATIN = re.compile(r"[A-Za-z]")
_LOOKALIKE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")  # Greek and Cyrillic: Т, О, Р read as T, O, P


def identifier(text: str) -> str:
    """A 文件编码 or 版本号 as every command compares it: NFKC (full-width typing), trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def _as_paragraphs(value: Any) -> Any:
    text = _as_text(value)
    if not isinstance(text, str):
        return text
    return [line.strip() for line in text.split("\n") if line.strip()]


# YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD (one separator throughout) or YYYY年M月D日.
_DATE_TEXT = re.compile(
    r"(?P<y>\d{4})(?:(?P<m1>\d{2})(?P<d1>\d{2})"
    r"|(?P<sep>[-/.])(?P<m2>\d{1,2})(?P=sep)(?P<d2>\d{1,2})"
    r"|年(?P<m3>\d{1,2})月(?P<d3>\d{1,2})日)"
)


def date_of(match: re.Match[str]) -> date:
    """The date a match of a YYYYMMDD / separated / 年月日 pattern names; ValueError for one that does not exist."""
    month = match["m1"] or match["m2"] or match["m3"]
    day = match["d1"] or match["d2"] or match["d3"]
    return date(int(match["y"]), int(month), int(day))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError(
            "bad-date",
            "「{value}」是数字而不是日期：请填写 2026-03-01 这样的日期，或把单元格设为日期格式",
            {"value": _as_text(value)},
        )
    text = str(value).strip()
    match = _DATE_TEXT.fullmatch(text)
    if match:
        try:
            return date_of(match)
        except ValueError:
            raise PydanticCustomError("bad-date", "「{value}」不是存在的日期", {"value": text}) from None
    raise PydanticCustomError(
        "bad-date",
        "「{value}」不是日期：请填写 20260301、2026-03-01、2026/03/01、2026.03.01 或 2026年3月1日",
        {"value": text},
    )


def _as_number(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", "").replace("，", ""))
        except ValueError:
            number = math.nan
    if not math.isfinite(number):  # float() also reads the words NaN, inf and infinity, and 1e999
        raise PydanticCustomError(
            "bad-number", "「{value}」不是数字：请只填写数值，单位已在表头中", {"value": str(value)}
        )
    return number


def _as_whole(value: Any) -> int:
    number = _as_number(value)
    if not number.is_integer():
        raise PydanticCustomError("bad-number", "「{value}」应为整数", {"value": _as_text(value)})
    return int(number)


def _between(low: int, high: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(
                "bad-choice",
                "「{value}」超出范围：应为 {low} 到 {high} 的整数",
                {"value": value, "low": low, "high": high},
            )
        return value

    return check


Text = Annotated[str, BeforeValidator(_as_text)]
Identifier = Annotated[str, BeforeValidator(_as_identifier)]
"""文件编码 and 版本号: compared by rules, printed on every page and part of the file name."""
Paragraphs = Annotated[list[str], BeforeValidator(_as_paragraphs)]
"""Multi-line text: one item per non-blank line, each a paragraph in Word."""
Day = Annotated[date, BeforeValidator(_as_date)]
Number = Annotated[float, BeforeValidator(_as_number)]
Score = Annotated[int, BeforeValidator(_as_whole), AfterValidator(_between(1, 5))]
ChapterNumber = Annotated[int, BeforeValidator(_as_whole), AfterValidator(_between(1, 10))]


def column(
    label: str,
    hint: str,
    *,
    default: Any = PydanticUndefined,
    width: int = 14,
    required_by: str | None = None,
    key: str | None = None,
    shown: Shown | None = None,
    places: bool = False,
) -> Any:
    """A header of a table sheet (or a label of a key-value sheet), its input hint, and how it renders.

    `required_by` names the rule that reports an empty cell instead of the model, for values
    the contract requires but whose absence a rule explains better than "missing-value".
    `key` is the value's name in the template context (default: the field's name); `shown`
    how it is printed (default: by its type); `places` marks a value that is not printed but
    decides where its record stands (a 补充说明's 章节, a 质量与验收 row's 类型).
    """
    extra: dict[str, Any] = {
        "width": width,
        "required_by": required_by,
        "key": key,
        "shown": shown.name if shown else None,
        "places": places,
    }
    return Field(default, alias=label, description=hint, json_schema_extra=extra)


def sheet(name: str, purpose: str, *, key: str | None = None) -> Any:
    """A key-value sheet of the workbook; `key` names it in the template context."""
    extra: dict[str, Any] = {"key": key}
    return Field(alias=name, description=purpose, json_schema_extra=extra)


def table(name: str, purpose: str, *, optional: bool = False, key: str | None = None) -> Any:
    """A table sheet; unless optional it needs at least one record."""
    extra: dict[str, Any] = {"key": key}
    if optional:
        return Field([], alias=name, description=purpose, json_schema_extra=extra)
    return Field(alias=name, description=purpose, min_length=1, json_schema_extra=extra)


class SheetModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    joined: ClassVar[dict[str, tuple[str, str]]] = {}
    """Context values that show two columns in one cell, "first/second", by their context key."""


# ---------------------------------------------------------------- key-value sheets

SECRECY = Literal["公开", "内部", "敏感", "商密"]
CONTROL = Literal["受控", "非受控"]


class DocumentInfo(SheetModel):
    project_name: Text = column("项目名称", "项目全称，封面标题为“项目名称+运维工作管理规范”", width=40)
    customer: Text = column("客户名称", "服务对象单位全称", width=40)
    file_code: Identifier = column("文件编码", "公司受控文件编码，如 QT-YW-GF-BH01-001", width=40)
    version: Identifier = column(
        "版本号", "封面版本号，格式 V主版本.次版本（如 V1.2），须与修订记录最后一行的文件版本一致", width=40
    )
    org: Text = column("编制单位", "编制本规范的公司或部门", width=40)
    dept_manager: Text = column("运维服务部门经理", "负责组建服务项目团队的部门经理姓名", width=40)
    secrecy: SECRECY = column("密级", "公开/内部/敏感/商密，不填为“内部”", default="内部", width=40)
    control_status: CONTROL = column("受控状态", "受控/非受控，不填为“受控”", default="受控", width=40)
    effective_date: Day = column("生效日期", "日期，如 2026-03-01；不早于最后一次批准日期", width=40, shown=PROSE_DAY)
    catalog_review_date: Day = column(
        "服务目录评审日期", "最近一次与客户评审服务目录和SLA的日期（每年至少一次）", width=40, shown=PROSE_DAY
    )
    customer_confirmer: Text = column("客户确认人", "客户方确认服务目录和SLA的人员", width=40)
    plan_adjust_date: Day = column(
        "工作计划调整日期", "最近一次调整年度工作计划的日期（至少每半年一次）", width=40, shown=PROSE_DAY
    )


class Background(SheetModel):
    construction: Paragraphs = column("建设背景", "项目建设的前因后果，可多行，每行一段", width=80)
    problems: Paragraphs = column("业务问题", "目前存在、希望系统帮助解决的业务问题，可多行", width=80)
    overview: Paragraphs = column("项目概览", "项目范围、系统组成、规模等，可多行", width=80)


class ServiceScope(SheetModel):
    industry: Text = column("服务行业", "如：医疗卫生", width=40)
    customer_level: Text = column("客户级别", "如：三级甲等医院、省级重点客户", width=40)
    customer_nature: Text = column("客户性质", "如：公立事业单位", width=40)
    service_mode: Text = column("服务方式", "如：驻场服务为主，远程支持和二线专家支持为辅", width=40)


class Management(SheetModel):
    """What the seed asks the 服务项目经理 to define for this project in chapters 6 and 9."""

    process_exceptions: Paragraphs = column(
        "流程特例",
        "因服务内容不同而与公司流程不一致之处，每行一条，如：变更管理：……（体系登记编号）；没有则不填",
        default=[],
        width=80,
    )
    complaint_definition: Paragraphs = column(
        "投诉定义", "与客户商定的投诉定义，写成完整的句子，如：本项目的有效投诉是指……", width=80
    )
    assessment_organisation: Paragraphs = column(
        "考核组织", "谁组织绩效考核、谁评分、谁确认、结果报送谁，写成完整的句子", width=80
    )


class Contract(SheetModel):
    number: Text = column("合同编号", "服务合同编号", width=40)
    name: Text = column("合同名称", "服务合同全称", width=40)
    party_a: Text = column("甲方", "合同甲方（客户）", width=40)
    party_b: Text = column("乙方", "合同乙方（服务提供方）", width=40)
    start: Day = column("合同开始日期", "日期，如 2026-01-01", width=40, shown=PROSE_DAY)
    end: Day = column("合同结束日期", "日期，晚于合同开始日期", width=40, shown=PROSE_DAY)
    template_source: Literal["公司SLA模板", "客户模板"] | None = column(
        "模板来源", "公司SLA模板/客户模板", default=None, width=40
    )


# ---------------------------------------------------------------- table sheets


class RevisionRecord(SheetModel):
    # The seed's 文件版本历史 cells read "YYYYMMDD/姓名": each is a date and a name shown together.
    joined: ClassVar[dict[str, tuple[str, str]]] = {
        "revised": ("revised_on", "reviser"),
        "reviewed": ("reviewed_on", "reviewer"),
        "approved": ("approved_on", "approver"),
    }

    version: Identifier = column("文件版本", "格式 V主版本.次版本，如 V1.0；自上而下递增", width=10)
    revised_on: Day = column("修订日期", "日期，如 2026-03-01", width=12)
    reviser: Text = column("修订人", "编制/修订人姓名", width=10)
    reviewed_on: Day = column("审核日期", "不早于修订日期", width=12)
    reviewer: Text = column("审核人", "审核人姓名，不应是修订人本人", width=10)
    approved_on: Day = column("批准日期", "不早于审核日期", width=12)
    approver: Text = column("批准人", "批准人姓名，不应是修订人本人", width=10)
    note: Paragraphs = column("修订说明", "文件更改申请单单号（如 WJGG-2025-031），或具体修改内容", width=50)


class ChapterNote(SheetModel):
    chapter: ChapterNumber = column("章节", "1–10，正文加在该章末尾", width=8, places=True)
    text: Paragraphs = column("正文", "补充的段落，可多行，每行一段", width=80)


WORK_MODE = Literal["驻场", "远程", "二线"]


class TeamMember(SheetModel):
    name: Text = column("姓名", "成员姓名", width=10)
    role: Role = column("岗位", "服务项目经理/服务项目工程师/其他；每个项目一名服务项目经理", width=16)
    specialty: Text | None = column("专业方向", "如：网络、数据库、应用", default=None, width=14)
    work_mode: WORK_MODE | None = column("工作方式", "驻场/远程/二线", default=None, width=10)
    duties: Paragraphs = column("职责", "岗位职责，可多行，每行一条", width=50)
    phone: Text | None = column("联系电话", "手机或座机", default=None, width=16)


GOAL_CATEGORY = Literal["公司业务目标-财务", "公司业务目标-客户满意度", "客户业务目标", "技术目标"]


class ServiceGoal(SheetModel):
    category: GOAL_CATEGORY = column("目标类别", "财务/客户满意度/客户业务/技术四类，每类至少一行", width=24)
    description: Paragraphs = column("目标描述", "要达成的目标", width=40)
    metric: Text = column("指标", "衡量目标的指标，如 核心系统可用率", width=20)
    target: Text = column("目标值", "如 ≥99.9%", width=12)


PERIOD_TYPE = Literal["设备质保", "系统维护", "运维服务", "应用支持"]


class ServicePeriod(SheetModel):
    kind: PERIOD_TYPE = column("周期类型", "设备质保/系统维护/运维服务/应用支持", width=12, key="type")
    start: Day = column("开始日期", "日期，如 2026-01-01", width=12, shown=PROSE_DAY)
    end: Day = column("结束日期", "晚于开始日期", width=12, shown=PROSE_DAY)
    note: Text | None = column("说明", "补充说明", default=None, width=40)


SERVICE_CATEGORY = Literal["资产", "场所", "人员", "应用", "数据", "业务", "系统", "资源", "安全", "管理"]
SERVICE_CHANNEL = Literal["现场", "远程", "热线", "驻场"]


class CatalogEntry(SheetModel):
    code: Text = column("编号", "唯一编号，如 SC-01", width=8)
    category: SERVICE_CATEGORY = column("服务类别", "资产/场所/人员/应用/数据/业务/系统/资源/安全/管理", width=10)
    item: Text = column("服务项", "服务项名称", width=18)
    content: Paragraphs = column("服务内容", "具体服务内容，可多行", width=40)
    channel: SERVICE_CHANNEL | None = column("服务方式", "现场/远程/热线/驻场", default=None, width=10, key="mode")
    hours: Text | None = column("服务时间", "如 5×8、7×24", default=None, width=10)
    level: Text | None = column("服务级别", "服务级别协议中定义的级别，如 P1", default=None, width=10)
    deliverables: Text | None = column("交付物", "如 巡检报告", default=None, width=20)


class ServiceLevel(SheetModel):
    level: Literal["P1", "P2", "P3", "P4"] = column("级别", "P1–P4，每级一行", width=8)
    definition: Paragraphs = column("定义", "该级别适用的故障或请求", width=40)
    response_minutes: Number = column("响应时间(分钟)", "数值，单位分钟", width=14, key="response")
    onsite_minutes: Number | None = column(
        "到场时间(分钟)", "数值，单位分钟；无需到场可不填", default=None, width=14, key="onsite"
    )
    resolution_hours: Number = column("解决时间(小时)", "数值，单位小时", width=14, key="resolution")
    hours: Text = column("服务时间", "如 7×24", width=10)


PLAN_CATEGORY = Literal["服务需求", "服务目标计划", "人员职责分工", "任务分解计划", "交付计划"]


class PlanTask(SheetModel):
    category: PLAN_CATEGORY = column("计划类别", "服务需求/服务目标计划/人员职责分工/任务分解计划/交付计划", width=14)
    task: Paragraphs = column("任务", "任务内容", width=40)
    owner: Text = column("责任人", "组织职责表中的姓名", width=10)
    start: Day = column("开始日期", "日期", width=12, shown=PROSE_DAY)
    end: Day = column("结束日期", "不早于开始日期", width=12, shown=PROSE_DAY)
    deliverables: Text | None = column("交付物", "如 月度服务报告", default=None, width=20)


REPORT_TYPE = Literal["周报", "月报", "季报", "年报", "故障报告", "事故报告", "服务总结", "工作汇报"]


class ServiceReport(SheetModel):
    kind: REPORT_TYPE = column(
        "报告类型", "周报/月报/季报/年报/故障报告/事故报告/服务总结/工作汇报", width=12, key="type"
    )
    frequency: Text | None = column(
        "频度", "如 每周、每月、事件后", default=None, width=12, required_by="report-definition"
    )
    recipient: Text | None = column(
        "提交对象", "如 客户信息科", default=None, width=16, required_by="report-definition"
    )
    author: Text | None = column("编制人", "编制人姓名", default=None, width=10)
    deadline: Text | None = column("提交时限", "如 每周一12:00前", default=None, width=20)


RISK_CATEGORY = Literal["客户满意度", "质量", "成本", "进度"]


class RiskEntry(SheetModel):
    code: Text = column("风险编号", "唯一编号，如 R-01", width=8)
    category: RISK_CATEGORY = column("风险类别", "客户满意度/质量/成本/进度", width=12)
    description: Paragraphs = column("风险描述", "风险事件及其后果", width=40)
    likelihood: Score = column("可能性", "1（极小）到 5（基本确定）", width=8)
    impact: Score = column("影响", "1（轻微）到 5（严重）", width=8)
    level: RiskLevel | None = column("风险等级", "低/一般/较大/重大；不填则按 可能性×影响 计算", default=None, width=10)
    measures: Paragraphs = column("应对措施", "每行一条措施；较大、重大风险至少两条", width=40)
    owner: Text | None = column("责任人", "负责应对的人员", default=None, width=10)


class BudgetItem(SheetModel):
    item: Text = column("预算项", "如 备品备件", width=20)
    category: Text = column("类别", "如 人工成本、采购、差旅", width=12)
    amount: Number = column("金额(元)", "数值，单位元", width=14, shown=MONEY)
    note: Text | None = column("说明", "测算依据", default=None, width=40)


QUALITY_TYPE = Literal["过程质量", "结果质量", "质量保障措施", "改进计划", "验收标准", "归档文档"]


class QualityItem(SheetModel):
    kind: QUALITY_TYPE = column(
        "类型", "过程质量/结果质量/质量保障措施/改进计划/验收标准/归档文档，每类至少一行", width=14, places=True
    )
    content: Paragraphs = column("内容", "质量要求、保障措施、改进计划、验收标准或归档文档", width=50)
    basis: Text | None = column("依据", "如 服务合同第5条", default=None, width=20)


class ResourceItem(SheetModel):
    nature: Literal["内部资源", "外部资源"] = column("资源性质", "内部资源/外部资源", width=12)
    category: Text = column("资源类别", "如 人力资源、设备供应商", width=14)
    name: Text = column("名称", "资源名称", width=24)
    purpose: Text = column("用途", "在本项目中的用途", width=36)
    budgeted: Literal["是", "否"] = column("纳入预算", "是/否；资源使用应纳入项目预算", width=10)
    budget_line: Text | None = column(
        "预算项", "纳入预算为“是”时，填写预算表中列支该资源的预算项名称", default=None, width=20
    )


TOOL_CATEGORY = Literal["服务流程支撑类", "系统运行监控类", "系统远程管理类", "热线业务支撑类"]


class ServiceTool(SheetModel):
    category: TOOL_CATEGORY = column(
        "工具类别", "服务流程支撑类/系统运行监控类/系统远程管理类/热线业务支撑类", width=16
    )
    name: Text = column("工具名称", "工具或平台名称", width=20)
    purpose: Text = column("用途", "在本项目中的用途", width=36)
    maintainer: Text | None = column("维护责任人", "负责工具运行维护的人员", default=None, width=12)


class WorkNorm(SheetModel):
    source: Literal["公司", "客户", "部门"] = column("规范来源", "公司/客户/部门", width=10)
    name: Text = column("规范名称", "规章制度或规范名称", width=30)
    points: Paragraphs = column("要点", "需遵守的要点，可多行", default=[], width=50)


class KpiItem(SheetModel):
    metric: Text = column("考核指标", "如 热线接通率", width=18)
    weight: Number = column("权重(%)", "数值；所有指标权重合计 100", width=10)
    target: Text | None = column("目标值", "如 ≥95%", default=None, width=12)
    scoring: Paragraphs = column("评分办法", "如 每低于目标1个百分点扣0.5分", width=36)
    reward: Text | None = column("奖惩措施", "如 月度得分低于80分扣减当月服务费2%", default=None, width=30)
    period: Text | None = column("考核周期", "如 每月", default=None, width=10)


class ContractMetric(SheetModel):
    metric: Text = column("指标", "合同约定的服务指标", width=20)
    value: Text = column("合同约定值", "合同中的约定值", width=30)
    clause: Text | None = column("条款号", "合同条款号", default=None, width=10)
    sla_level: Text | None = column("对应SLA级别", "对应的服务级别，如 P1", default=None, width=12)


# ---------------------------------------------------------------- the document


class Document(BaseModel):
    """Everything the workbook says, one field per sheet, in the workbook's sheet order."""

    model_config = ConfigDict(frozen=True)

    info: DocumentInfo = sheet("文档信息", "封面、文件编码、版本号和关键日期", key="doc")
    revisions: list[RevisionRecord] = table("修订记录", "文件版本历史，每次修订一行，按版本自上而下递增")
    background: Background = sheet("项目背景", "第1章 项目背景")
    notes: list[ChapterNote] = table("补充说明", "任意章节末尾的补充段落（可不填）", optional=True)
    team: list[TeamMember] = table("组织职责", "第2章 服务项目团队成员及职责")
    goals: list[ServiceGoal] = table("服务目标", "第3章 服务目标")
    scope: ServiceScope = sheet("服务范围", "第3章 服务对象")
    periods: list[ServicePeriod] = table("服务周期", "第3章 服务周期")
    catalog: list[CatalogEntry] = table("服务目录", "第4章 服务目录")
    service_levels: list[ServiceLevel] = table("服务级别协议", "第4章 服务级别协议（P1–P4）", key="sla")
    plan: list[PlanTask] = table("工作计划", "第5章 年度服务工作计划")
    management: Management = sheet("项目管理", "第6章 流程特例、投诉定义，第9章 考核组织")
    reports: list[ServiceReport] = table("服务报告", "第6章 报告管理")
    risks: list[RiskEntry] = table("风险登记", "第6章 风险管理")
    budget: list[BudgetItem] = table("预算", "第6章 预算管理")
    quality: list[QualityItem] = table("质量与验收", "第6章 质量管理和项目验收")
    resources: list[ResourceItem] = table("资源计划", "第7章 资源使用计划")
    tools: list[ServiceTool] = table("服务工具", "第7章 服务工具")
    norms: list[WorkNorm] = table("工作规范", "第8章 工作规范")
    kpis: list[KpiItem] = table("绩效考核", "第9章 绩效考核")
    contract: Contract = sheet("服务合同", "第10章 服务合同")
    contract_metrics: list[ContractMetric] = table("合同指标", "第10章 合同约定的服务指标")


# ---------------------------------------------------------------- contract introspection


class ColumnSpec(typing.NamedTuple):
    name: str  # model field name
    label: str  # header or label text in the workbook
    hint: str
    required: bool
    width: int
    choices: tuple[str, ...]  # dropdown values; empty when free input
    kind: str  # "text", "paragraphs", "date", "number"
    key: str  # the value's name in the template context
    shown: Shown  # how the document prints it
    places: bool  # not printed: it decides where its record stands


class SheetSpec(typing.NamedTuple):
    name: str  # model field name on Document
    title: str  # sheet name in the workbook
    purpose: str
    is_table: bool
    required: bool
    model: type[SheetModel]
    columns: tuple[ColumnSpec, ...]
    key: str  # the sheet's name in the template context

    def column(self, label: str) -> ColumnSpec:
        return next(c for c in self.columns if c.label == label)

    def label_of(self, part: Any) -> Any:
        """A model field name as its header or label; record indexes and labels pass through."""
        return next((c.label for c in self.columns if c.name == part), part)


def _unwrap(annotation: Any) -> Any:
    """Drop `| None` and Annotated metadata so Literal choices and base types show through."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _kind(annotation: Any) -> str:
    base = _unwrap(annotation)
    if base is date:
        return "date"
    if base in (float, int):
        return "number"
    if typing.get_origin(base) is list:
        return "paragraphs"
    return "text"


_SHOWN_BY_KIND = {"date": DAY, "number": NUMBER, "paragraphs": PARAGRAPHS, "text": TEXT, "whole": WHOLE}
_SHOWN_BY_NAME = {shown.name: shown for shown in _SHOWN_BY_KIND.values()} | {
    MONEY.name: MONEY,
    PROSE_DAY.name: PROSE_DAY,
}


def _extra(info: Any) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _columns(model: type[SheetModel]) -> tuple[ColumnSpec, ...]:
    specs = []
    for name, info in model.model_fields.items():
        base = _unwrap(info.annotation)
        choices = typing.get_args(base) if typing.get_origin(base) is Literal else ()
        extra = _extra(info)
        kind = _kind(info.annotation)
        whole = base is int
        specs.append(
            ColumnSpec(
                name=name,
                label=str(info.alias),
                hint=str(info.description),
                required=info.is_required() or extra["required_by"] is not None,
                width=int(extra["width"]),
                choices=tuple(str(c) for c in choices),
                kind=kind,
                key=str(extra["key"] or name),
                shown=_SHOWN_BY_NAME[str(extra["shown"])]
                if extra["shown"]
                else _SHOWN_BY_KIND["whole" if whole else kind],
                places=bool(extra["places"]),
            )
        )
    return tuple(specs)


def _sheets() -> tuple[SheetSpec, ...]:
    specs = []
    for name, info in Document.model_fields.items():
        is_table = typing.get_origin(info.annotation) is list
        model = cast(type[SheetModel], typing.get_args(info.annotation)[0] if is_table else info.annotation)
        key = str(_extra(info).get("key") or name)
        specs.append(
            SheetSpec(
                name, str(info.alias), str(info.description), is_table, info.is_required(), model, _columns(model), key
            )
        )
    return tuple(specs)


SHEETS: tuple[SheetSpec, ...] = _sheets()
# The workbook contract's version (`opsdoc --version`): raised with any change to the sheets,
# their headers or their values; tests/test_model.py holds it to the contract's fingerprint.
CONTRACT_VERSION = "1.0"
"""The workbook contract, sheet by sheet, derived from the models above."""
SHEET_BY_TITLE = {s.title: s for s in SHEETS}
SHEET_BY_NAME = {s.name: s for s in SHEETS}
