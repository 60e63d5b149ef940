"""The consistency rules of rules.md: small functions that yield Findings for a validated Document.

Each is registered under its stable code from the catalogue (opsdoc.contract.findings), which
holds its severity, title and source sentence; reading codes are reported by the reader.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from opsdoc.contract.conventions import MATCHED_CHARS, Conventions, add_months
from opsdoc.contract.findings import CATALOGUE, Cell, Finding, finding
from opsdoc.contract.model import SHEET_BY_NAME, Document
from opsdoc.contract.vocabulary import ENGINEER, HIGH_RISK_LEVELS, MANAGER, Stage, parse_version
from opsdoc.workbook.cells import Cells

Check = Callable[[Document, Cells, Conventions], Iterable[Finding]]

CHECKS: dict[str, Check] = {}
"""Every consistency rule by its code, in the order rules.md lists them."""


def rule(code: str) -> Callable[[Check], Check]:
    """Register a consistency check under its catalogued code."""
    if CATALOGUE[code].stage is not Stage.RULES:
        raise ValueError(f"{code} is not a rules code")

    def register(check: Check) -> Check:
        CHECKS[code] = check
        return check

    return register


def _duplicates(cells: Cells, sheet_field: str, rows: Sequence[Any], key: str, what: str) -> Iterator[Finding]:
    seen: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(rows):
        seen[getattr(record, key)].append(index)
    for value, indexes in seen.items():
        for repeat in indexes[1:]:
            first = cells.at(sheet_field, indexes[0], key)
            yield finding(
                "duplicate-key",
                cells.at(sheet_field, repeat, key),
                f"{what}「{value}」重复，已在 {first} 使用",
                related=[first],
            )


@rule("duplicate-key")
def duplicate_keys(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _duplicates(cells, "revisions", document.revisions, "version", "文件版本")
    yield from _duplicates(cells, "catalog", document.catalog, "code", "服务目录编号")
    yield from _duplicates(cells, "service_levels", document.service_levels, "level", "SLA级别")
    yield from _duplicates(cells, "risks", document.risks, "code", "风险编号")


# ---------------------------------------------------------------- cover page and version history

# Words that say a change happened without saying what changed.
VAGUE_NOTES = {
    "修改",
    "修订",
    "更新",
    "变更",
    "调整",
    "完善",
    "补充",
    "修改内容",
    "更新内容",
    "内容修改",
    "若干修改",
    "见附件",
    "详见附件",
    "无",
    "略",
    "同上",
    "其他",
    "修正",
}


# A form number rather than words: letters, digits and separators only.
CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/.-]*")


@rule("cover-version-mismatch")
def cover_version(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    document = document
    last = len(document.revisions) - 1
    cover, final = document.info.version, document.revisions[last].version
    if cover != final:
        yield finding(
            "cover-version-mismatch",
            cells.at("info", "version"),
            f"封面版本号 {cover} 与修订记录最后一行的文件版本 {final} 不一致",
            related=[cells.at("revisions", last, "version")],
        )


@rule("version-format")
def version_format(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    places: list[tuple[tuple[Any, ...], str]] = [(("info", "version"), document.info.version)]
    places += [(("revisions", i, "version"), r.version) for i, r in enumerate(document.revisions)]
    for path, version in places:
        if parse_version(version) is None:
            yield finding(
                "version-format",
                cells.at(*path),
                f"版本号「{version}」格式不对：应为 V主版本.次版本，如 V1.0、V1.2、V2.0",
            )


@rule("version-order")
def version_order(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    revisions = document.revisions
    for i in range(1, len(revisions)):
        before, after = parse_version(revisions[i - 1].version), parse_version(revisions[i].version)
        if before and after and after <= before:
            yield finding(
                "version-order",
                cells.at("revisions", i, "version"),
                f"文件版本 {revisions[i].version} 没有高于上一行的 {revisions[i - 1].version}：版本应自上而下递增",
                related=[cells.at("revisions", i - 1, "version")],
            )


@rule("revision-note")
def revision_note(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    change_request = re.compile(conventions.change_request_pattern)
    for i, revision in enumerate(document.revisions):
        text = "".join(revision.note)
        bare = re.sub(r"[\s\W_]", "", text)
        if len(text) <= MATCHED_CHARS and change_request.fullmatch(text.strip()):
            continue
        if CODE_LIKE.fullmatch(text.strip()):
            yield finding(
                "revision-note",
                cells.at("revisions", i, "note"),
                f"修订说明「{text}」像单号，但不符合本公司文件更改申请单单号的格式 {conventions.change_request_pattern}",
            )
        elif "XX" in text or bare in VAGUE_NOTES or len(bare) < 4:
            yield finding(
                "revision-note",
                cells.at("revisions", i, "note"),
                f"修订说明「{text}」没有说明改了什么：请填写文件更改申请单单号（如 WJGG-2025-031），"
                "或具体修改内容（如“第4章：新增数据备份恢复演练服务项”）",
            )


@rule("revision-date-order")
def revision_date_order(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, r in enumerate(document.revisions):
        steps = [
            ("revised_on", "修订日期", r.revised_on),
            ("reviewed_on", "审核日期", r.reviewed_on),
            ("approved_on", "批准日期", r.approved_on),
        ]
        for (prev_field, prev_name, prev), (field, name, day) in itertools.pairwise(steps):
            if day < prev:
                yield finding(
                    "revision-date-order",
                    cells.at("revisions", i, field),
                    f"{name} {day:%Y%m%d} 早于{prev_name} {prev:%Y%m%d}：应先修订、再审核、后批准",
                    related=[cells.at("revisions", i, prev_field)],
                )


@rule("revision-chronology")
def revision_chronology(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    revisions = document.revisions
    for i in range(1, len(revisions)):
        previous, current = revisions[i - 1], revisions[i]
        if current.revised_on < previous.approved_on:
            yield finding(
                "revision-chronology",
                cells.at("revisions", i, "revised_on"),
                f"{current.version} 的修订日期 {current.revised_on:%Y%m%d} 早于上一版本 {previous.version} "
                f"的批准日期 {previous.approved_on:%Y%m%d}",
                related=[cells.at("revisions", i - 1, "approved_on")],
            )


@rule("self-approval")
def self_approval(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, r in enumerate(document.revisions):
        for field, role, person in (("reviewer", "审核人", r.reviewer), ("approver", "批准人", r.approver)):
            if person == r.reviser:
                yield finding(
                    "self-approval",
                    cells.at("revisions", i, field),
                    f"{r.version} 的{role}与修订人都是「{person}」：修订、审核、批准应由不同的人完成",
                    related=[cells.at("revisions", i, "reviser")],
                )


@rule("effective-date")
def effective_date(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    document = document
    last = len(document.revisions) - 1
    approved = document.revisions[last].approved_on
    if document.info.effective_date < approved:
        yield finding(
            "effective-date",
            cells.at("info", "effective_date"),
            f"生效日期 {document.info.effective_date:%Y%m%d} 早于最后一次批准日期 {approved:%Y%m%d}",
            related=[cells.at("revisions", last, "approved_on")],
        )


@rule("draft-controlled")
def draft_controlled(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    # A V0.x draft has not been approved for issue: marking it 受控 would put an unissued text
    # into circulation with the controlled stamp on every page.
    info = document.info
    version = parse_version(info.version)
    if version is not None and version[0] == 0 and info.control_status == "受控":
        yield finding(
            "draft-controlled",
            cells.at("info", "control_status"),
            f"版本号 {info.version} 是草稿，不能标为“受控”：受控状态应填“非受控”，首次发布为 V1.0",
            related=[cells.at("info", "version")],
        )


@rule("file-code-format")
def file_code_format(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    code = document.info.file_code
    pattern = conventions.file_code_pattern
    if pattern and (len(code) > MATCHED_CHARS or not re.fullmatch(pattern, code)):
        yield finding(
            "file-code-format",
            cells.at("info", "file_code"),
            f"文件编码「{code}」不符合公司规定的格式 {conventions.file_code_pattern}",
        )


# ---------------------------------------------------------------- chapters 2–10


def _coverage(
    code: str, document: Document, cells: Cells, sheet_field: str, label: str, what: str | None = None
) -> Iterator[Finding]:
    """Every choice the contract offers for column `label` of a table has at least one row."""
    column = SHEET_BY_NAME[sheet_field].column(label)
    present = {getattr(row, column.name) for row in getattr(document, sheet_field)}
    absent = [choice for choice in column.choices if choice not in present]
    if absent:
        yield finding(code, cells.at(sheet_field), f"缺少{what or label}：{'、'.join(absent)}")


@rule("team-manager-count")
def team_manager_count(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    managers = [i for i, m in enumerate(document.team) if m.role == MANAGER]
    if not managers:
        yield finding("team-manager-count", cells.at("team"), "组织职责中没有服务项目经理：每个项目组应设定一名")
    for extra in managers[1:]:
        first = cells.at("team", managers[0], "role")
        yield finding(
            "team-manager-count",
            cells.at("team", extra, "role"),
            f"「{document.team[extra].name}」是第 {managers.index(extra) + 1} 名服务项目经理：每个项目组只设定一名",
            related=[first],
        )


@rule("team-engineers")
def team_engineers(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    if not any(m.role == ENGINEER for m in document.team):
        yield finding("team-engineers", cells.at("team"), "组织职责中没有服务项目工程师：至少需要一名，并写明职责")


@rule("goal-coverage")
def goal_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("goal-coverage", document, cells, "goals", "目标类别")


def _ends_after_start(
    code: str, cells: Cells, sheet_field: str, rows: Sequence[Any], what: str, *, allow_same: bool
) -> Iterator[Finding]:
    for i, row in enumerate(rows):
        if row.end < row.start or (row.end == row.start and not allow_same):
            relation = "早于" if row.end < row.start else "等于"
            yield finding(
                code,
                cells.at(sheet_field, i, "end"),
                f"{what}的结束日期 {row.end:%Y%m%d} {relation}开始日期 {row.start:%Y%m%d}",
                related=[cells.at(sheet_field, i, "start")],
            )


@rule("period-order")
def period_order(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _ends_after_start("period-order", cells, "periods", document.periods, "服务周期", allow_same=False)


@rule("catalog-coverage")
def catalog_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("catalog-coverage", document, cells, "catalog", "服务类别")


@rule("catalog-sla-ref")
def catalog_sla_ref(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    defined = [s.level for s in document.service_levels]
    for i, entry in enumerate(document.catalog):
        if entry.level and entry.level not in defined:
            yield finding(
                "catalog-sla-ref",
                cells.at("catalog", i, "level"),
                f"服务级别「{entry.level}」没有在服务级别协议中定义（已定义：{'、'.join(defined)}）",
            )


@rule("sla-monotonic")
def sla_monotonic(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    indexed = sorted(enumerate(document.service_levels), key=lambda pair: pair[1].level)
    for (i, higher), (j, lower) in itertools.pairwise(indexed):
        for field, name, unit in (("response_minutes", "响应时间", "分钟"), ("resolution_hours", "解决时间", "小时")):
            if getattr(lower, field) < getattr(higher, field):
                yield finding(
                    "sla-monotonic",
                    cells.at("service_levels", j, field),
                    f"{lower.level} 的{name} {getattr(lower, field):g}{unit} 短于更高级别 {higher.level} 的 "
                    f"{getattr(higher, field):g}{unit}",
                    related=[cells.at("service_levels", i, field)],
                )


def _age(code: str, document: Document, cells: Cells, field: str, what: str, months: int) -> Iterator[Finding]:
    info = document.info
    day = getattr(info, field)
    if day < add_months(info.effective_date, -months):
        yield finding(
            code,
            cells.at("info", field),
            f"{what} {day:%Y%m%d} 距生效日期 {info.effective_date:%Y%m%d} 超过 {months} 个月",
            related=[cells.at("info", "effective_date")],
        )


@rule("catalog-review-age")
def catalog_review_age(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _age(
        "catalog-review-age",
        document,
        cells,
        "catalog_review_date",
        "服务目录和服务级别协议的最近评审日期",
        conventions.catalog_review_months,
    )


@rule("plan-coverage")
def plan_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("plan-coverage", document, cells, "plan", "计划类别")


@rule("plan-owner")
def plan_owner(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    members = {m.name for m in document.team}
    for i, task in enumerate(document.plan):
        if task.owner not in members:
            yield finding("plan-owner", cells.at("plan", i, "owner"), f"责任人「{task.owner}」不在组织职责的成员名单中")


@rule("plan-adjust-age")
def plan_adjust_age(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _age(
        "plan-adjust-age", document, cells, "plan_adjust_date", "工作计划的最近调整日期", conventions.plan_adjust_months
    )


@rule("task-dates")
def task_dates(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _ends_after_start("task-dates", cells, "plan", document.plan, "任务", allow_same=True)


@rule("report-definition")
def report_definition(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, report in enumerate(document.reports):
        for field, name in (("frequency", "频度"), ("recipient", "提交对象")):
            if not getattr(report, field):
                yield finding("report-definition", cells.at("reports", i, field), f"{report.kind}没有定义{name}")


@rule("risk-level")
def risk_level(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, risk in enumerate(document.risks):
        score = risk.likelihood * risk.impact
        derived = conventions.risk_levels.level(score)
        if risk.level and risk.level != derived:
            yield finding(
                "risk-level",
                cells.at("risks", i, "level"),
                f"{risk.code} 的风险等级填写为「{risk.level}」，但可能性 {risk.likelihood} × 影响 {risk.impact} = {score}，"
                f"应为「{derived}」",
                related=[cells.at("risks", i, "likelihood"), cells.at("risks", i, "impact")],
            )


@rule("risk-measures")
def risk_measures(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, risk in enumerate(document.risks):
        level = risk.level or conventions.risk_levels.level(risk.likelihood * risk.impact)
        if level in HIGH_RISK_LEVELS and len(risk.measures) < 2:
            yield finding(
                "risk-measures",
                cells.at("risks", i, "measures"),
                f"{risk.code} 是{level}风险，只有 {len(risk.measures)} 条应对措施：高级别风险应制订多种措施（每行一条，至少两条）",
            )


@rule("quality-coverage")
def quality_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("quality-coverage", document, cells, "quality", "类型", "质量与验收类型")


@rule("resource-budget")
def resource_budget(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    for i, resource in enumerate(document.resources):
        if resource.budgeted != "是":
            yield finding(
                "resource-budget",
                cells.at("resources", i, "budgeted"),
                f"资源「{resource.name}」没有纳入预算：资源的使用要纳入服务项目的预算管理体系",
            )


@rule("resource-budget-line")
def resource_budget_line(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    # "纳入预算：是" is only a claim until it names the budget line that pays for the resource.
    lines = {b.item for b in document.budget}
    for i, resource in enumerate(document.resources):
        if resource.budgeted != "是":
            continue  # resource-budget reports it
        if not resource.budget_line:
            yield finding(
                "resource-budget-line",
                cells.at("resources", i, "budget_line"),
                f"资源「{resource.name}」纳入预算，但没有写明列支它的预算项：请填写预算表中的预算项名称",
            )
        elif resource.budget_line not in lines:
            yield finding(
                "resource-budget-line",
                cells.at("resources", i, "budget_line"),
                f"预算项「{resource.budget_line}」不在预算表中：资源「{resource.name}」应列支于一个已编制的预算项",
            )


@rule("tool-coverage")
def tool_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("tool-coverage", document, cells, "tools", "工具类别")


@rule("norm-coverage")
def norm_coverage(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    yield from _coverage("norm-coverage", document, cells, "norms", "规范来源")


@rule("kpi-weights")
def kpi_weights(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    kpis = document.kpis
    total = sum(k.weight for k in kpis)
    if abs(total - 100) > 1e-6:
        first, last = cells.ref("kpis", 0, "weight"), cells.ref("kpis", len(kpis) - 1, "weight")
        column = f"{first}:{last.split('!')[1]}" if "!" in last else first
        yield finding("kpi-weights", Cell("绩效考核", column), f"权重合计为 {total:g}，应为 100")


@rule("contract-metrics")
def contract_metrics(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    agreed = {m.sla_level for m in document.contract_metrics if m.sla_level}
    for i, level in enumerate(document.service_levels):
        if level.level not in agreed:
            yield finding(
                "contract-metrics",
                cells.at("contract_metrics"),
                f"SLA级别 {level.level} 没有出现在合同指标中（对应SLA级别列）：服务的具体指标应在合同中明确",
                related=[cells.at("service_levels", i, "level")],
            )


# How a contract states a level's times: 响应15分钟 / 到场30分钟 / 2小时内恢复 (or 解决时间8小时).
_STATED_TIMES = {
    "response_minutes": ("响应", re.compile(r"响应(?:时间)?[^\d，,；;]{0,4}(\d+(?:\.\d+)?)\s*(分钟|小时|天)")),
    "onsite_minutes": ("到场", re.compile(r"到(?:场|达现场)(?:时间)?[^\d，,；;]{0,4}(\d+(?:\.\d+)?)\s*(分钟|小时|天)")),
    "resolution_hours": (
        "解决",
        re.compile(
            r"(?:(?:解决|恢复)(?:时间)?[^\d，,；;]{0,4}(\d+(?:\.\d+)?)\s*(分钟|小时|天)"
            r"|(\d+(?:\.\d+)?)\s*(分钟|小时|天)\s*内?(?:解决|恢复))"
        ),
    ),
}
_MINUTES = {"分钟": 1, "小时": 60, "天": 1440}


def _stated(text: str, pattern: re.Pattern[str]) -> tuple[float, str] | None:
    """The time the text states, in minutes, and as written (2小时)."""
    match = pattern.search(text)
    if match is None:
        return None
    number, unit = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return float(number) * _MINUTES[unit], f"{number}{unit}"


@rule("contract-sla-times")
def contract_sla_times(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    levels = {s.level: (i, s) for i, s in enumerate(document.service_levels)}
    for i, metric in enumerate(document.contract_metrics):
        if metric.sla_level not in levels:
            continue  # no level, or one catalog-sla-ref / contract-metrics speak of
        j, level = levels[metric.sla_level]
        text = f"{metric.metric} {metric.value}"
        for field, (name, pattern) in _STATED_TIMES.items():
            stated = _stated(text, pattern)
            agreed = getattr(level, field)
            if stated is None:
                continue
            agreed_minutes = None if agreed is None else agreed * (60 if field == "resolution_hours" else 1)
            if agreed_minutes != stated[0]:
                shown = "未规定" if agreed is None else f"{agreed:g}{'小时' if field == 'resolution_hours' else '分钟'}"
                yield finding(
                    "contract-sla-times",
                    cells.at("contract_metrics", i, "value"),
                    f"合同约定 {metric.sla_level} {name}时间为{stated[1]}，服务级别协议中为{shown}：合同与SLA应一致",
                    related=[cells.at("service_levels", j, field)],
                )


@rule("contract-period")
def contract_period(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    contract = document.contract
    if contract.end <= contract.start:
        yield finding(
            "contract-period",
            cells.at("contract", "end"),
            f"合同结束日期 {contract.end:%Y%m%d} 不晚于合同开始日期 {contract.start:%Y%m%d}",
            related=[cells.at("contract", "start")],
        )


@rule("effective-in-contract")
def effective_in_contract(document: Document, cells: Cells, conventions: Conventions) -> Iterator[Finding]:
    # The specification binds the team to the contract's terms: outside the contract period
    # there is no service for it to govern. An inverted period is contract-period's finding alone.
    contract, effective = document.contract, document.info.effective_date
    if contract.start < contract.end and not contract.start <= effective <= contract.end:
        outside = cells.at("contract", "start" if effective < contract.start else "end")
        yield finding(
            "effective-in-contract",
            cells.at("info", "effective_date"),
            f"生效日期 {effective:%Y%m%d} 不在合同期限 {contract.start:%Y%m%d} 至 {contract.end:%Y%m%d} 之内",
            related=[outside],
        )


def run_rules(
    document: Document, cells: Cells, conventions: Conventions | None = None, skip: Iterable[str] = ()
) -> list[Finding]:
    """All findings of the consistency rules of a validated document."""
    conventions = conventions or Conventions()
    skipped = set(skip)
    return [f for code, check in CHECKS.items() if code not in skipped for f in check(document, cells, conventions)]
