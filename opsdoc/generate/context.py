"""The template context: the model as plain strings, lists and dicts, already formatted.

Every workbook value enters the context through its column's render spec (opsdoc.contract:
its context key and how it is shown), so any docxtpl user can render the template from this
context's JSON alone (build --dump-context). Below the columns come the few values the
document derives from them (title, totals, risk levels, the team in numbers), each naming the
columns it derives from, so that a draft shows 〔待填写〕 there too while one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from opsdoc.contract.conventions import Conventions
from opsdoc.contract.model import SHEETS, Document, SheetModel, SheetSpec
from opsdoc.contract.shown import MONEY, NUMBER, PROSE_DAY
from opsdoc.contract.vocabulary import DOCUMENT_KIND, ENGINEER, MANAGER, PENDING
from opsdoc.generate.fitting import cover_spacing, cover_title, header_points, header_title

TEMPLATE_NAME = f"{DOCUMENT_KIND}.docx"

Pending = Collection[tuple[str, int | None, str]]
"""Values a draft has no usable value for: (sheet field, record index or None, column field)."""

Context = dict[str, Any]


# The bundled template's version (`opsdoc --version`), raised with every change to it;
# tests/test_template.py holds it to the template's bytes. It is not written into the template:
# a changed core property would change every document built from it.
TEMPLATE_VERSION = "1.1"


def default_template() -> Path:
    """The bundled Word template, shipped inside the package."""
    return Path(str(resources.files("opsdoc.word_templates").joinpath(TEMPLATE_NAME)))


def shown_record(
    spec: SheetSpec, record: SheetModel, index: int | None = None, pending: Pending = ()
) -> dict[str, Any]:
    """One record (or key-value sheet) as the template sees it: every column by its context key."""
    shown: dict[str, Any] = {}
    for column in spec.columns:
        if pending and (spec.name, index, column.name) in pending:
            shown[column.key] = [PENDING] if column.kind == "paragraphs" else PENDING
        else:
            shown[column.key] = column.shown.show(getattr(record, column.name))
    if spec.model.joined:
        keys = {c.name: c.key for c in spec.columns}
        for key, (first, second) in spec.model.joined.items():
            shown[key] = f"{shown[keys[first]]}/{shown[keys[second]]}"
    return shown


@dataclass(frozen=True)
class Derived:
    """A context value computed from columns: shown as 〔待填写〕 while any of them is pending."""

    inputs: tuple[tuple[str, str], ...]  # (sheet field, column field)
    compute: Callable[[Document, Conventions], Any]

    def value(self, document: Document, conventions: Conventions, pending: Pending) -> Any:
        if any((sheet, column) == (p[0], p[2]) for sheet, column in self.inputs for p in pending):
            return PENDING
        return self.compute(document, conventions)


def _release(document: Document, conventions: Conventions) -> dict[str, str | list[str]]:
    """The cover's sign-off block: who wrote, reviewed and approved the version in force (the
    last 修订记录 row) and when; its 批准日期 is also the cover's 发布日期."""
    last = document.revisions[-1]
    return {
        "reviser": last.reviser,
        "revised_on": PROSE_DAY.show(last.revised_on),
        "reviewer": last.reviewer,
        "reviewed_on": PROSE_DAY.show(last.reviewed_on),
        "approver": last.approver,
        "approved_on": PROSE_DAY.show(last.approved_on),
    }


RELEASE_KEYS = ("reviser", "revised_on", "reviewer", "reviewed_on", "approver", "approved_on")


# The scores 可能性×影响 can take (17–19, 21–24 cannot): a band is printed by those it holds.
SCORES = sorted({likelihood * impact for likelihood in range(1, 6) for impact in range(1, 6)})


def _risk_bands(conventions: Conventions) -> str:
    levels = conventions.risk_levels
    bands = (
        ("低", 1, levels.moderate - 1),
        ("一般", levels.moderate, levels.major - 1),
        ("较大", levels.major, levels.severe - 1),
        ("重大", levels.severe, 25),
    )
    shown = []
    for name, low, high in bands:
        held = [score for score in SCORES if low <= score <= high]
        if held:
            shown.append(f"{held[0]}为{name}" if len(held) == 1 else f"{held[0]}～{held[-1]}为{name}")
    return "，".join(shown)


DERIVED: dict[str, Derived] = {
    "release": Derived(
        (
            ("revisions", "reviser"),
            ("revisions", "revised_on"),
            ("revisions", "reviewer"),
            ("revisions", "reviewed_on"),
            ("revisions", "approver"),
            ("revisions", "approved_on"),
        ),
        _release,
    ),
    "team_summary": Derived(
        (),
        lambda d, c: {
            "manager": "、".join(m.name for m in d.team if m.role == MANAGER),
            "engineer_count": str(sum(m.role == ENGINEER for m in d.team)),
            "member_count": str(len(d.team)),
            "other_count": str(sum(m.role not in (MANAGER, ENGINEER) for m in d.team)),
        },
    ),
    # Printed under the risk table: which 可能性×影响 scores make each level (opsdoc.toml may move them).
    "risk_bands": Derived((), lambda d, c: _risk_bands(c)),
    "budget_total": Derived((("budget", "amount"),), lambda d, c: MONEY.show(sum(b.amount for b in d.budget))),
    "kpi_total_weight": Derived((("kpis", "weight"),), lambda d, c: NUMBER.show(sum(k.weight for k in d.kpis))),
}


QUALITY_GROUPS = {
    "过程质量": "process",
    "结果质量": "result",
    "质量保障措施": "assurance",
    "改进计划": "improvement",
    "验收标准": "acceptance",
    "归档文档": "archive",
}


def _fitted(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page has room for (opsdoc.generate.fitting): the cover title broken where a reader
    breaks it (doc.cover_title), its size and the cover's spacing, the running header's size and title."""
    title = cover_title(doc["project_name"])
    spacing = cover_spacing(title, doc["customer"])
    doc["cover_title"] = "\n".join(title.lines)
    return {
        "cover_title_size": title.points * 2,  # half-points, as w:sz takes them
        "cover_before_title": spacing.before_title,  # twips
        "cover_after_version": spacing.after_version,
        "cover_before_issuer": spacing.before_issuer,
        "header_size": round(header_points(doc["file_code"], doc["title"]) * 2),
        "header_title": header_title(doc["file_code"], doc["title"], DOCUMENT_KIND),
    }


def build_context(
    document: Document, conventions: Conventions | None = None, *, draft: bool = False, pending: Pending = ()
) -> Context:
    """The template's whole input, JSON-able; `pending` values show as 〔待填写〕 (drafts only)."""
    conventions = conventions or Conventions()
    context: Context = {}
    for spec in SHEETS:
        data = getattr(document, spec.name)
        if spec.is_table:
            context[spec.key] = [shown_record(spec, item, i, pending) for i, item in enumerate(data)]
        else:
            context[spec.key] = shown_record(spec, data, None, pending)
    context["doc"]["title"] = f"{document.info.project_name}{DOCUMENT_KIND}"
    context["doc"]["draft"] = draft
    context["layout"] = _fitted(context["doc"])
    # 补充说明 stand at the end of their chapter; 质量与验收 rows in the table of their 类型.
    notes: dict[str, list[str]] = {f"c{n}": [] for n in range(1, 11)}
    for note, shown in zip(document.notes, context["notes"], strict=False):
        notes[f"c{note.chapter}"].extend(shown["text"])
    context["notes"] = notes
    quality: dict[str, list[dict[str, Any]]] = {group: [] for group in QUALITY_GROUPS.values()}
    for item, shown in zip(document.quality, context["quality"], strict=False):
        quality[QUALITY_GROUPS[item.kind]].append({"content": shown["content"], "basis": shown["basis"]})
    context["quality"] = quality
    for index, (risk, shown) in enumerate(zip(document.risks, context["risks"], strict=False)):
        if not risk.level:  # left empty: the level follows from 可能性×影响
            derived_from = {("risks", index, "likelihood"), ("risks", index, "impact")}
            shown["level"] = (
                PENDING if derived_from & set(pending) else conventions.risk_levels.level(risk.likelihood * risk.impact)
            )
    for key, derived in DERIVED.items():
        context[key] = derived.value(document, conventions, pending)
    if context["release"] == PENDING:  # the cover reads its fields one by one
        context["release"] = dict.fromkeys(RELEASE_KEYS, PENDING)
    return context
