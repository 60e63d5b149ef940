"""The rule registry: every finding code with its severity and title, and the consistency checks.

Codes are stable (reports, --skip and QA scripts use them). Reading codes are produced by the
loader; every other rule is a small function that yields Findings for a valid Document.
"""

from __future__ import annotations

import re
import typing
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from opsdoc.conventions import Conventions
from opsdoc.model import GOAL_CATEGORY, PLAN_CATEGORY, SERVICE_CATEGORY, TOOL_CATEGORY
from opsdoc.report import Finding, Location, Severity

if TYPE_CHECKING:
    from opsdoc.workbook import Workbook

Check = Callable[["Workbook", Conventions], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str
    source: str = ""
    check: Check | None = None  # None: reported by the loader while reading


RULES: dict[str, Rule] = {}


def _register(code: str, severity: str, title: str, source: str = "", check: Check | None = None) -> None:
    RULES[code] = Rule(code, Severity(severity), title, source, check)


def rule(code: str, severity: str, title: str, source: str = ""):
    """Register a consistency check under its stable code."""

    def register(check: Check) -> Check:
        _register(code, severity, title, source, check)
        return check

    return register


def finding(code: str, location: Location, message: str, related: Iterable[str] = ()) -> Finding:
    return Finding(code, RULES[code].severity, location, message, tuple(related))


for _code, _severity, _title in [
    ("missing-sheet", "E", "缺少必需的工作表"),
    ("missing-column", "E", "表格工作表缺少必填列"),
    ("missing-label", "E", "键值工作表缺少必填项目"),
    ("missing-value", "E", "必填单元格为空"),
    ("bad-date", "E", "不是日期（含不存在的日期和纯数字）"),
    ("bad-number", "E", "需要数字的单元格不是数字"),
    ("bad-choice", "E", "下拉列的值不在可选列表中"),
    ("bad-value", "E", "值的类型无法识别"),
    ("formula-no-value", "E", "公式没有缓存的计算结果"),
    ("error-cell", "E", "单元格是 Excel 错误值"),
    ("illegal-character", "E", "含有 Word 无法保存的控制字符"),
    ("cell-too-long", "E", "单元格超过 32767 个字符（Excel 的上限）"),
    ("placeholder-text", "E", "保留了模板占位内容"),
    ("unknown-column", "W", "表头不是本表的列，内容不会写入文档"),
    ("unknown-label", "W", "项目不是本表的项目，内容不会写入文档"),
]:
    _register(_code, _severity, _title)


def _duplicates(workbook: Workbook, sheet_field: str, key: str, what: str) -> Iterator[Finding]:
    rows = getattr(workbook.document, sheet_field)
    seen: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(rows):
        seen[getattr(record, key)].append(index)
    for value, indexes in seen.items():
        for repeat in indexes[1:]:
            first = workbook.cell(sheet_field, indexes[0], key)
            yield finding(
                "duplicate-key",
                workbook.location(sheet_field, repeat, key),
                f"{what}「{value}」重复，已在 {first} 使用",
                related=[first],
            )


@rule("duplicate-key", "E", "风险编号、服务目录编号、SLA级别、文件版本不得重复")
def duplicate_keys(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _duplicates(workbook, "revisions", "version", "文件版本")
    yield from _duplicates(workbook, "catalog", "code", "服务目录编号")
    yield from _duplicates(workbook, "service_levels", "level", "SLA级别")
    yield from _duplicates(workbook, "risks", "code", "风险编号")


# ---------------------------------------------------------------- cover page and version history

VERSION = re.compile(r"V(\d+)\.(\d+)")
# Words that say a change happened without saying what changed.
VAGUE_NOTES = {"修改", "修订", "更新", "变更", "调整", "完善", "补充", "修改内容", "更新内容", "内容修改",
               "若干修改", "见附件", "详见附件", "无", "略", "同上", "其他", "修正"}


# A form number rather than words: letters, digits and separators only.
CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/.-]*")


def _version_key(version: str) -> tuple[int, int] | None:
    match = VERSION.fullmatch(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


@rule("cover-version-mismatch", "E", "封面版本号与修订记录最后一行的文件版本一致",
      "封皮页版本号应与“文件版本控制页”最后一条版本记录的“文件版本”保持一致")
def cover_version(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    document = workbook.document
    last = len(document.revisions) - 1
    cover, final = document.info.version, document.revisions[last].version
    if cover != final:
        yield finding(
            "cover-version-mismatch",
            workbook.location("info", "version"),
            f"封面版本号 {cover} 与修订记录最后一行的文件版本 {final} 不一致",
            related=[workbook.cell("revisions", last, "version")],
        )


@rule("version-format", "E", "版本号格式为 V主版本.次版本（如 V1.2）", "版本号：Vx.y")
def version_format(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    document = workbook.document
    places = [(("info", "version"), document.info.version)]
    places += [(("revisions", i, "version"), r.version) for i, r in enumerate(document.revisions)]
    for path, version in places:
        if _version_key(version) is None:
            yield finding("version-format", workbook.location(*path),
                          f"版本号「{version}」格式不对：应为 V主版本.次版本，如 V1.0、V1.2、V2.0")


@rule("version-order", "E", "修订记录的文件版本自上而下严格递增", "文件控制")
def version_order(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    revisions = workbook.document.revisions
    for i in range(1, len(revisions)):
        before, after = _version_key(revisions[i - 1].version), _version_key(revisions[i].version)
        if before and after and after <= before:
            yield finding(
                "version-order",
                workbook.location("revisions", i, "version"),
                f"文件版本 {revisions[i].version} 没有高于上一行的 {revisions[i - 1].version}：版本应自上而下递增",
                related=[workbook.cell("revisions", i - 1, "version")],
            )


@rule("revision-note", "E", "修订说明是更改申请单单号或具体修改内容",
      "“修订说明”可直接填写文件更改申请单单号，否则应记录具体修改内容")
def revision_note(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    change_request = re.compile(conventions.change_request_pattern)
    for i, revision in enumerate(workbook.document.revisions):
        text = "".join(revision.note)
        bare = re.sub(r"[\s\W_]", "", text)
        if change_request.fullmatch(text.strip()):
            continue
        if CODE_LIKE.fullmatch(text.strip()):
            yield finding(
                "revision-note",
                workbook.location("revisions", i, "note"),
                f"修订说明「{text}」像单号，但不符合本公司文件更改申请单单号的格式 {conventions.change_request_pattern}",
            )
        elif "XX" in text or bare in VAGUE_NOTES or len(bare) < 4:
            yield finding(
                "revision-note",
                workbook.location("revisions", i, "note"),
                f"修订说明「{text}」没有说明改了什么：请填写文件更改申请单单号（如 WJGG-2025-031），"
                "或具体修改内容（如“第4章：新增数据备份恢复演练服务项”）",
            )


@rule("revision-date-order", "E", "每行 修订日期 ≤ 审核日期 ≤ 批准日期", "编制→审核→批准")
def revision_date_order(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, r in enumerate(workbook.document.revisions):
        steps = [("revised_on", "修订日期", r.revised_on), ("reviewed_on", "审核日期", r.reviewed_on),
                 ("approved_on", "批准日期", r.approved_on)]
        for (prev_field, prev_name, prev), (field, name, day) in zip(steps, steps[1:]):
            if day < prev:
                yield finding(
                    "revision-date-order",
                    workbook.location("revisions", i, field),
                    f"{name} {day:%Y%m%d} 早于{prev_name} {prev:%Y%m%d}：应先修订、再审核、后批准",
                    related=[workbook.cell("revisions", i, prev_field)],
                )


@rule("revision-chronology", "E", "每次修订不早于上一版本的批准日期", "文件控制")
def revision_chronology(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    revisions = workbook.document.revisions
    for i in range(1, len(revisions)):
        previous, current = revisions[i - 1], revisions[i]
        if current.revised_on < previous.approved_on:
            yield finding(
                "revision-chronology",
                workbook.location("revisions", i, "revised_on"),
                f"{current.version} 的修订日期 {current.revised_on:%Y%m%d} 早于上一版本 {previous.version} "
                f"的批准日期 {previous.approved_on:%Y%m%d}",
                related=[workbook.cell("revisions", i - 1, "approved_on")],
            )


@rule("self-approval", "W", "审核人、批准人不是修订人本人", "编制→审核→批准由不同的人完成")
def self_approval(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, r in enumerate(workbook.document.revisions):
        for field, role, person in (("reviewer", "审核人", r.reviewer), ("approver", "批准人", r.approver)):
            if person == r.reviser:
                yield finding(
                    "self-approval",
                    workbook.location("revisions", i, field),
                    f"{r.version} 的{role}与修订人都是「{person}」：修订、审核、批准应由不同的人完成",
                    related=[workbook.cell("revisions", i, "reviser")],
                )


@rule("effective-date", "W", "生效日期不早于最后一次批准日期", "文件控制")
def effective_date(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    document = workbook.document
    last = len(document.revisions) - 1
    approved = document.revisions[last].approved_on
    if document.info.effective_date < approved:
        yield finding(
            "effective-date",
            workbook.location("info", "effective_date"),
            f"生效日期 {document.info.effective_date:%Y%m%d} 早于最后一次批准日期 {approved:%Y%m%d}",
            related=[workbook.cell("revisions", last, "approved_on")],
        )


@rule("file-code-format", "E", "文件编码符合公司规定的格式（opsdoc.toml 的 file_code_pattern）", "公司文件编码规则")
def file_code_format(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    code = workbook.document.info.file_code
    if conventions.file_code_pattern and not re.fullmatch(conventions.file_code_pattern, code):
        yield finding("file-code-format", workbook.location("info", "file_code"),
                      f"文件编码「{code}」不符合公司规定的格式 {conventions.file_code_pattern}")


# ---------------------------------------------------------------- chapters 2–10


def _missing(required: Iterable[str], present: Iterable[str]) -> list[str]:
    have = set(present)
    return [item for item in required if item not in have]


def _coverage(code: str, workbook: Workbook, sheet_field: str, required, present, what: str) -> Iterator[Finding]:
    absent = _missing(required, present)
    if absent:
        yield finding(code, workbook.location(sheet_field), f"缺少{what}：{'、'.join(absent)}")


@rule("team-manager-count", "E", "每个项目组设定一名服务项目经理", "服务项目经理……每个项目组设定一名")
def team_manager_count(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    managers = [i for i, m in enumerate(workbook.document.team) if m.role == "服务项目经理"]
    if not managers:
        yield finding("team-manager-count", workbook.location("team"), "组织职责中没有服务项目经理：每个项目组应设定一名")
    for extra in managers[1:]:
        first = workbook.cell("team", managers[0], "role")
        yield finding(
            "team-manager-count",
            workbook.location("team", extra, "role"),
            f"「{workbook.document.team[extra].name}」是第 {managers.index(extra) + 1} 名服务项目经理：每个项目组只设定一名",
            related=[first],
        )


@rule("team-engineers", "E", "至少一名服务项目工程师，并写明职责", "按照服务需求确定工程师的工作职责")
def team_engineers(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    if not any(m.role == "服务项目工程师" for m in workbook.document.team):
        yield finding("team-engineers", workbook.location("team"), "组织职责中没有服务项目工程师：至少需要一名，并写明职责")


@rule("goal-coverage", "E", "服务目标包含财务、客户满意度、客户业务、技术四类",
      "公司的业务目标主要包括财务方面和客户满意度方面……技术目标")
def goal_coverage(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("goal-coverage", workbook, "goals", typing.get_args(GOAL_CATEGORY),
                         (g.category for g in workbook.document.goals), "目标类别")


def _ends_after_start(code, workbook, sheet_field, rows, what, *, allow_same: bool) -> Iterator[Finding]:
    for i, row in enumerate(rows):
        if row.end < row.start or (row.end == row.start and not allow_same):
            relation = "早于" if row.end < row.start else "等于"
            yield finding(
                code,
                workbook.location(sheet_field, i, "end"),
                f"{what}的结束日期 {row.end:%Y%m%d} {relation}开始日期 {row.start:%Y%m%d}",
                related=[workbook.cell(sheet_field, i, "start")],
            )


@rule("period-order", "E", "每个服务周期的结束日期晚于开始日期", "服务周期")
def period_order(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _ends_after_start("period-order", workbook, "periods", workbook.document.periods, "服务周期", allow_same=False)


@rule("catalog-coverage", "W", "服务目录覆盖全部十个服务类别",
      "资产、场所、人员、应用、数据(内容)、业务、系统、资源、安全、管理")
def catalog_coverage(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("catalog-coverage", workbook, "catalog", typing.get_args(SERVICE_CATEGORY),
                         (c.category for c in workbook.document.catalog), "服务类别")


@rule("catalog-sla-ref", "E", "服务目录的服务级别是服务级别协议中定义的级别", "服务目录和服务级别协议")
def catalog_sla_ref(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    defined = [s.level for s in workbook.document.service_levels]
    for i, entry in enumerate(workbook.document.catalog):
        if entry.level and entry.level not in defined:
            yield finding(
                "catalog-sla-ref",
                workbook.location("catalog", i, "level"),
                f"服务级别「{entry.level}」没有在服务级别协议中定义（已定义：{'、'.join(defined)}）",
            )


@rule("sla-monotonic", "W", "响应时间和解决时间 P1 ≤ P2 ≤ P3 ≤ P4", "SLA 惯例")
def sla_monotonic(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    indexed = sorted(enumerate(workbook.document.service_levels), key=lambda pair: pair[1].level)
    for (i, higher), (j, lower) in zip(indexed, indexed[1:]):
        for field, name, unit in (("response_minutes", "响应时间", "分钟"), ("resolution_hours", "解决时间", "小时")):
            if getattr(lower, field) < getattr(higher, field):
                yield finding(
                    "sla-monotonic",
                    workbook.location("service_levels", j, field),
                    f"{lower.level} 的{name} {getattr(lower, field):g}{unit} 短于更高级别 {higher.level} 的 "
                    f"{getattr(higher, field):g}{unit}",
                    related=[workbook.cell("service_levels", i, field)],
                )


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last_day in (day.day, 30, 29, 28):  # the same day, or the month's last if it has no such day
        try:
            return date(year, month + 1, last_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _age(code, workbook, field, what, months) -> Iterator[Finding]:
    info = workbook.document.info
    day = getattr(info, field)
    if day < _months_before(info.effective_date, months):
        yield finding(
            code,
            workbook.location("info", field),
            f"{what} {day:%Y%m%d} 距生效日期 {info.effective_date:%Y%m%d} 超过 {months} 个月",
            related=[workbook.cell("info", "effective_date")],
        )


@rule("catalog-review-age", "E", "服务目录评审日期不早于生效日期前12个月",
      "每年要进行修订和完善，每年至少一次，并与客户达成一致")
def catalog_review_age(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _age("catalog-review-age", workbook, "catalog_review_date",
                    "服务目录和服务级别协议的最近评审日期", conventions.catalog_review_months)


@rule("plan-coverage", "W", "工作计划包含五类计划", "服务需求、服务目标计划、人员职责分工、任务分解计划、交付计划")
def plan_coverage(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("plan-coverage", workbook, "plan", typing.get_args(PLAN_CATEGORY),
                         (t.category for t in workbook.document.plan), "计划类别")


@rule("plan-owner", "E", "工作计划的责任人是组织职责中的成员", "人员职责分工")
def plan_owner(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    members = {m.name for m in workbook.document.team}
    for i, task in enumerate(workbook.document.plan):
        if task.owner not in members:
            yield finding("plan-owner", workbook.location("plan", i, "owner"),
                          f"责任人「{task.owner}」不在组织职责的成员名单中")


@rule("plan-adjust-age", "E", "工作计划调整日期不早于生效日期前6个月", "至少每半年要调整一次")
def plan_adjust_age(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _age("plan-adjust-age", workbook, "plan_adjust_date", "工作计划的最近调整日期",
                    conventions.plan_adjust_months)


@rule("task-dates", "E", "每项任务的结束日期不早于开始日期", "任务分解计划")
def task_dates(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _ends_after_start("task-dates", workbook, "plan", workbook.document.plan, "任务", allow_same=True)


@rule("report-definition", "E", "每种服务报告定义了类型、频度和提交对象", "应对报告的类型、频度、提交对象等进行定义")
def report_definition(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, report in enumerate(workbook.document.reports):
        for field, name in (("frequency", "频度"), ("recipient", "提交对象")):
            if not getattr(report, field):
                yield finding("report-definition", workbook.location("reports", i, field),
                              f"{report.kind}没有定义{name}")


@rule("risk-level", "E", "填写的风险等级与 可能性×影响 推出的等级一致", "预估风险发生的几率和可能造成的影响，确定风险等级")
def risk_level(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, risk in enumerate(workbook.document.risks):
        score = risk.likelihood * risk.impact
        derived = conventions.risk_levels.level(score)
        if risk.level and risk.level != derived:
            yield finding(
                "risk-level",
                workbook.location("risks", i, "level"),
                f"{risk.code} 的风险等级填写为「{risk.level}」，但可能性 {risk.likelihood} × 影响 {risk.impact} = {score}，"
                f"应为「{derived}」",
                related=[workbook.cell("risks", i, "likelihood"), workbook.cell("risks", i, "impact")],
            )


@rule("risk-measures", "E", "较大、重大风险至少有两条应对措施", "对于高级别的风险，要制定多种防范管理措施")
def risk_measures(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, risk in enumerate(workbook.document.risks):
        level = risk.level or conventions.risk_levels.level(risk.likelihood * risk.impact)
        if level in ("较大", "重大") and len(risk.measures) < 2:
            yield finding(
                "risk-measures",
                workbook.location("risks", i, "measures"),
                f"{risk.code} 是{level}风险，只有 {len(risk.measures)} 条应对措施：高级别风险应制定多种措施（每行一条，至少两条）",
            )


@rule("resource-budget", "W", "资源使用纳入项目预算", "内部资源、外部资源的使用要纳入服务项目的预算管理体系中")
def resource_budget(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    for i, resource in enumerate(workbook.document.resources):
        if resource.budgeted != "是":
            yield finding("resource-budget", workbook.location("resources", i, "budgeted"),
                          f"资源「{resource.name}」没有纳入预算：资源的使用要纳入服务项目的预算管理体系")


@rule("tool-coverage", "W", "服务工具覆盖四个工具类别", "服务流程支撑类、系统运行监控类、系统远程管理类、热线业务支撑类")
def tool_coverage(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("tool-coverage", workbook, "tools", typing.get_args(TOOL_CATEGORY),
                         (t.category for t in workbook.document.tools), "工具类别")


@rule("norm-coverage", "W", "工作规范包含公司、客户和部门的规范", "公司、部门、客户的相关规章制度和工作规范")
def norm_coverage(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("norm-coverage", workbook, "norms", ("公司", "客户", "部门"),
                         (n.source for n in workbook.document.norms), "规范来源")


@rule("kpi-weights", "E", "绩效考核权重合计 100", "评分办法")
def kpi_weights(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    kpis = workbook.document.kpis
    total = sum(k.weight for k in kpis)
    if abs(total - 100) > 1e-6:
        first, last = workbook.cell("kpis", 0, "weight"), workbook.cell("kpis", len(kpis) - 1, "weight")
        column = f"{first}:{last.split('!')[1]}" if "!" in last else first
        yield finding("kpi-weights", Location("绩效考核", column), f"权重合计为 {total:g}，应为 100")


@rule("contract-metrics", "E", "每个SLA级别在合同指标中有约定值", "服务的具体指标应在服务合同中予以明确")
def contract_metrics(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    agreed = {m.sla_level for m in workbook.document.contract_metrics if m.sla_level}
    for i, level in enumerate(workbook.document.service_levels):
        if level.level not in agreed:
            yield finding(
                "contract-metrics",
                workbook.location("contract_metrics"),
                f"SLA级别 {level.level} 没有出现在合同指标中（对应SLA级别列）：服务的具体指标应在合同中明确",
                related=[workbook.cell("service_levels", i, "level")],
            )


@rule("contract-period", "E", "合同结束日期晚于合同开始日期", "服务合同")
def contract_period(workbook: Workbook, conventions: Conventions) -> Iterator[Finding]:
    contract = workbook.document.contract
    if contract.end <= contract.start:
        yield finding(
            "contract-period",
            workbook.location("contract", "end"),
            f"合同结束日期 {contract.end:%Y%m%d} 不晚于合同开始日期 {contract.start:%Y%m%d}",
            related=[workbook.cell("contract", "start")],
        )


def run_rules(workbook: Workbook, conventions: Conventions | None = None, skip: Iterable[str] = ()) -> list[Finding]:
    """All findings of the consistency rules; none while the model could not be built."""
    if workbook.document is None:
        return []
    conventions = conventions or Conventions()
    skipped = set(skip)
    return [f for r in RULES.values() if r.check and r.code not in skipped for f in r.check(workbook, conventions)]
