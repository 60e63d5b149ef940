"""The template and its context: the model as plain strings, lists and dicts, already formatted.

YYYYMMDD dates, "YYYYMMDD/姓名" cells, amounts and totals are done here, so any docxtpl user
can render the template from this context's JSON alone (build --dump-context).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from importlib import resources
from pathlib import Path

from opsdoc.conventions import Conventions
from opsdoc.model import Document

DOCUMENT_KIND = "运维工作管理规范"
TEMPLATE_NAME = "运维工作管理规范.docx"


def default_template() -> Path:
    """The bundled Word template, shipped inside the package."""
    return Path(str(resources.files("opsdoc.word_templates").joinpath(TEMPLATE_NAME)))


def _day(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _text(value: str | None) -> str:
    return value or ""


# Where build_context puts each sheet: its context key, and the context field of each column
# whose name differs from the model field's. 补充说明 and 质量与验收 are placed differently
# (see verify._expected_values).
RENDERED_AS: dict[str, tuple[str, dict[str, str | tuple[str, int]]]] = {
    "info": ("doc", {}),
    "revisions": (
        "revisions",
        {  # shown as "YYYYMMDD/姓名": (context field, part) looks for date and name each on its own
            "revised_on": ("revised", 0), "reviser": ("revised", 1),
            "reviewed_on": ("reviewed", 0), "reviewer": ("reviewed", 1),
            "approved_on": ("approved", 0), "approver": ("approved", 1),
        },
    ),
    "background": ("background", {}),
    "team": ("team", {}),
    "goals": ("goals", {}),
    "scope": ("scope", {}),
    "periods": ("periods", {"kind": "type"}),
    "catalog": ("catalog", {"channel": "mode"}),
    "service_levels": ("sla", {"response_minutes": "response", "onsite_minutes": "onsite", "resolution_hours": "resolution"}),
    "plan": ("plan", {}),
    "reports": ("reports", {"kind": "type"}),
    "risks": ("risks", {}),
    "budget": ("budget", {}),
    "resources": ("resources", {}),
    "tools": ("tools", {}),
    "norms": ("norms", {}),
    "kpis": ("kpis", {}),
    "contract": ("contract", {}),
    "contract_metrics": ("contract_metrics", {}),
}


def build_context(document: Document, conventions: Conventions | None = None, *, draft: bool = False) -> dict:
    """The template's whole input, JSON-able."""
    info = document.info
    risk_levels = (conventions or Conventions()).risk_levels
    notes: dict[str, list[str]] = {f"c{n}": [] for n in range(1, 11)}
    for note in document.notes:
        notes[f"c{note.chapter}"].extend(note.text)
    managers = [m.name for m in document.team if m.role == "服务项目经理"]
    quality: dict[str, list[dict]] = defaultdict(list)
    quality_keys = {"过程质量": "process", "结果质量": "result", "验收标准": "acceptance", "归档文档": "archive"}
    for item in document.quality:
        quality[quality_keys[item.kind]].append({"content": item.content, "basis": _text(item.basis)})
    return {
        "doc": {
            "title": f"{info.project_name}{DOCUMENT_KIND}",
            "project_name": info.project_name,
            "customer": info.customer,
            "file_code": info.file_code,
            "version": info.version,
            "org": info.org,
            "dept_manager": info.dept_manager,
            "secrecy": info.secrecy,
            "control_status": info.control_status,
            "effective_date": _day(info.effective_date),
            "catalog_review_date": _day(info.catalog_review_date),
            "customer_confirmer": info.customer_confirmer,
            "plan_adjust_date": _day(info.plan_adjust_date),
            "draft": draft,
        },
        "revisions": [
            {
                "version": r.version,
                "revised": f"{_day(r.revised_on)}/{r.reviser}",
                "reviewed": f"{_day(r.reviewed_on)}/{r.reviewer}",
                "approved": f"{_day(r.approved_on)}/{r.approver}",
                "note": r.note,
            }
            for r in document.revisions
        ],
        "background": {
            "construction": document.background.construction,
            "problems": document.background.problems,
            "overview": document.background.overview,
        },
        "notes": notes,
        "team": [
            {
                "name": m.name,
                "role": m.role,
                "specialty": _text(m.specialty),
                "work_mode": _text(m.work_mode),
                "duties": m.duties,
                "phone": _text(m.phone),
            }
            for m in document.team
        ],
        "team_summary": {
            "manager": "、".join(managers),
            "engineer_count": str(sum(m.role == "服务项目工程师" for m in document.team)),
            "member_count": str(len(document.team)),
        },
        "goals": [
            {"category": g.category, "description": g.description, "metric": g.metric, "target": g.target}
            for g in document.goals
        ],
        "scope": {
            "industry": document.scope.industry,
            "customer_level": document.scope.customer_level,
            "customer_nature": document.scope.customer_nature,
            "service_mode": document.scope.service_mode,
        },
        "periods": [
            {"type": p.kind, "start": _day(p.start), "end": _day(p.end), "note": _text(p.note)}
            for p in document.periods
        ],
        "catalog": [
            {
                "code": c.code,
                "category": c.category,
                "item": c.item,
                "content": c.content,
                "mode": _text(c.channel),
                "hours": _text(c.hours),
                "level": _text(c.level),
                "deliverables": _text(c.deliverables),
            }
            for c in document.catalog
        ],
        "sla": [
            {
                "level": s.level,
                "definition": s.definition,
                "response": _number(s.response_minutes),
                "onsite": _number(s.onsite_minutes),
                "resolution": _number(s.resolution_hours),
                "hours": s.hours,
            }
            for s in document.service_levels
        ],
        "plan": [
            {
                "category": t.category,
                "task": t.task,
                "owner": t.owner,
                "start": _day(t.start),
                "end": _day(t.end),
                "deliverables": _text(t.deliverables),
            }
            for t in document.plan
        ],
        "reports": [
            {
                "type": r.kind,
                "frequency": _text(r.frequency),
                "recipient": _text(r.recipient),
                "author": _text(r.author),
                "deadline": _text(r.deadline),
            }
            for r in document.reports
        ],
        "risks": [
            {
                "code": r.code,
                "category": r.category,
                "description": r.description,
                "likelihood": str(r.likelihood),
                "impact": str(r.impact),
                "level": r.level or risk_levels.level(r.likelihood * r.impact),
                "measures": r.measures,
                "owner": _text(r.owner),
            }
            for r in document.risks
        ],
        "budget": [
            {"item": b.item, "category": b.category, "amount": _money(b.amount), "note": _text(b.note)}
            for b in document.budget
        ],
        "budget_total": _money(sum(b.amount for b in document.budget)),
        "quality": {key: quality[key] for key in quality_keys.values()},
        "resources": [
            {"nature": r.nature, "category": r.category, "name": r.name, "purpose": r.purpose, "budgeted": r.budgeted}
            for r in document.resources
        ],
        "tools": [
            {"category": t.category, "name": t.name, "purpose": t.purpose, "maintainer": _text(t.maintainer)}
            for t in document.tools
        ],
        "norms": [{"source": n.source, "name": n.name, "points": n.points} for n in document.norms],
        "kpis": [
            {
                "metric": k.metric,
                "weight": _number(k.weight),
                "target": _text(k.target),
                "scoring": k.scoring,
                "reward": _text(k.reward),
                "period": _text(k.period),
            }
            for k in document.kpis
        ],
        "kpi_total_weight": _number(sum(k.weight for k in document.kpis)),
        "contract": {
            "number": document.contract.number,
            "name": document.contract.name,
            "party_a": document.contract.party_a,
            "party_b": document.contract.party_b,
            "start": _day(document.contract.start),
            "end": _day(document.contract.end),
            "template_source": _text(document.contract.template_source),
        },
        "contract_metrics": [
            {"metric": m.metric, "value": m.value, "clause": _text(m.clause), "sla_level": _text(m.sla_level)}
            for m in document.contract_metrics
        ],
    }
