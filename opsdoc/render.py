"""Render the Word document: the model becomes a plain context, docxtpl merges it into the template.

The context holds only strings, lists and dicts, already formatted (YYYYMMDD dates,
"YYYYMMDD/姓名" cells), so any docxtpl user can render the template from its JSON alone.
"""

from __future__ import annotations

import functools
import html
import io
import re
import zipfile
from collections import defaultdict
from datetime import date, datetime
from importlib import resources
from pathlib import Path

from xml.parsers import expat

from docx.opc.oxml import serialize_part_xml
from docx.parts.document import DocumentPart
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateError as JinjaError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from opsdoc.conventions import Conventions
from opsdoc.errors import TemplateError
from opsdoc.model import Document
from opsdoc.output import deterministic_zip

TEMPLATE_NAME = "运维工作管理规范.docx"
DOCUMENT_KIND = "运维工作管理规范"

def default_template() -> Path:
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


class _CompiledOnce(SandboxedEnvironment):
    """Compiles each template part once per process: a batch renders the same XML many times."""

    def __init__(self):
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self._compiled = {}

    def from_string(self, source, globals=None, template_class=None):
        if globals or template_class:
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            self._compiled[source] = super().from_string(source)
        return self._compiled[source]


@functools.cache
def jinja_environment() -> SandboxedEnvironment:
    """Values are escaped (& < > appear as typed), templates cannot reach Python internals,
    and an unknown name is an error rather than blank text. One per process."""
    return _CompiledOnce()


class _RenderedDocumentPart(DocumentPart):
    """The main document part holding its rendered XML as bytes, never as an element tree."""

    @property
    def blob(self) -> bytes:
        return self.rendered


class _PreparedTemplate(DocxTemplate):
    """docxtpl tuned for long registers, giving the same document.

    The tag clean-up of each part is the same for every document, so it runs once per
    process. docxtpl then parses the rendered body, repairs tables for column loops
    (`{%tc`), and moves the body into the package: at 20k rows that costs seconds (lxml
    reconciles namespaces node by node) and a tree ten times the size of the XML. Without
    column loops nothing needs the tree: the rendered XML is checked to be well-formed in
    one streaming pass and stored as the part's bytes.
    """

    def __init__(self, template_file, *, column_loops: bool):
        super().__init__(template_file)
        self.column_loops = column_loops

    def patch_xml(self, src_xml):
        return _patched_xml(src_xml)

    def fix_tables(self, xml):
        if self.column_loops:
            return super().fix_tables(xml)
        whole = serialize_part_xml(self.docx.element)
        start, end = whole.index(b"<w:body"), whole.rindex(b"</w:body>") + len(b"</w:body>")
        opening = xml.index(">") + 1  # the serialized body repeats the root's namespace declarations
        body = re.sub(r'\s+xmlns:\w+="[^"]*"', "", xml[:opening]) + xml[opening:]
        document = whole[:start] + body.encode("utf-8") + whole[end:]
        _check_well_formed(document)
        return document

    def fix_docpr_ids(self, tree):
        if self.column_loops:
            return super().fix_docpr_ids(tree)
        # Drawings must carry distinct ids; renumber them in the bytes, as docxtpl does in the tree.
        def renumber(match: re.Match) -> bytes:
            self.docx_ids_index += 1
            return match.group(1) + str(self.docx_ids_index).encode() + b'"'

        self.rendered = re.sub(rb'(<wp:docPr\b[^>]*?\bid=")\d+"', renumber, tree)

    def map_tree(self, tree):
        if self.column_loops:
            return super().map_tree(tree)
        part = self.docx.part
        part.__class__ = _RenderedDocumentPart
        part.rendered = self.rendered


def _check_well_formed(document: bytes) -> None:
    """A template whose tags cut through Word's structure renders broken XML: refuse it, never save it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(document, True)
    except expat.ExpatError as exc:
        raise TemplateStructureError(f"第 {exc.lineno} 行第 {exc.offset} 列：{expat.errors.messages[exc.code]}") from None


class TemplateStructureError(ValueError):
    """The rendered document is not well-formed XML."""


@functools.lru_cache(maxsize=32)
def _patched_xml(src_xml: str) -> str:
    return DocxTemplate.patch_xml(None, src_xml)


@functools.lru_cache(maxsize=4)
def _template_bytes(template: Path, mtime_ns: int) -> bytes:
    return template.read_bytes()


@functools.lru_cache(maxsize=4)
def _has_column_loops(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        body = package.read("word/document.xml").decode("utf-8", "replace")
    return re.search(r"\{%-?\s*tc\b", re.sub(r"<[^>]+>", "", body)) is not None


def template_paragraphs(template: Path) -> list[str]:
    """The text of every paragraph of the template's body, headers and footers, tags included."""
    texts = []
    with zipfile.ZipFile(template) as package:
        for name in package.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name):
                xml = package.read(name).decode("utf-8", "replace")
                for paragraph in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.DOTALL):
                    texts.append(html.unescape("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", paragraph))))
    return texts


def _where(template: Path, exc: Exception) -> str:
    """The template text around the tag that failed, so an author can find it in Word."""
    try:
        paragraphs = template_paragraphs(template)
    except (zipfile.BadZipFile, OSError, KeyError):
        return ""
    if isinstance(exc, TemplateSyntaxError):  # Jinja points past the end; an unbalanced tag is the cause
        needle = None
        for text in paragraphs:
            if text.count("{{") != text.count("}}") or text.count("{%") != text.count("%}"):
                needle = (text, max(text.rfind("{{"), text.rfind("{%")))
                break
    else:
        name = re.search(r"'(\w+)' is undefined|attribute '(\w+)'", str(exc))
        word = name and (name.group(1) or name.group(2))
        found = next((t for t in paragraphs if word and word in t and "{" in t), None)
        needle = (found, found.find(word)) if found else None
    if not needle:
        return ""
    text, at = needle
    start = max(at - 30, 0)
    return f"；位置：「{'…' if start else ''}{text[start:at + 40]}{'…' if at + 40 < len(text) else ''}」"


def render_template(template: Path, context: dict) -> DocxTemplate:
    """docxtpl with the sandboxed environment; every failure is a TemplateError naming the place."""
    try:
        data = _template_bytes(template, template.stat().st_mtime_ns)
        docx = _PreparedTemplate(io.BytesIO(data), column_loops=_has_column_loops(data))
        docx.render(context, jinja_env=jinja_environment(), autoescape=True)
    except TemplateSyntaxError as exc:
        raise TemplateError(template, f"模板标签语法错误：{exc.message}{_where(template, exc)}") from exc
    except SecurityError as exc:
        raise TemplateError(template, f"模板试图访问不允许的内部属性：{exc}{_where(template, exc)}") from exc
    except UndefinedError as exc:
        raise TemplateError(template, f"模板使用了不存在的名称：{exc}{_where(template, exc)}") from exc
    except JinjaError as exc:
        raise TemplateError(template, f"模板无法渲染：{exc}") from exc
    except TemplateStructureError as exc:
        raise TemplateError(
            template, f"模板渲染后的正文不是有效的 Word XML（{exc}）：通常是标签切断了段落或表格的结构"
        ) from exc
    except Exception as exc:  # a damaged .docx surfaces as zip, XML or KeyError deep inside docxtpl
        raise TemplateError(template, f"模板不是可用的 Word 文档（{type(exc).__name__}: {exc}）") from exc
    return docx


def _midnight(value: date) -> datetime:
    return datetime(value.year, value.month, value.day)


def render_document(document: Document, context: dict, template: Path | None = None) -> bytes:
    """The finished .docx as bytes: the same context and template always give the same bytes."""
    template = template or default_template()
    if not template.is_file():
        raise TemplateError(template, "Word 模板不存在")
    return save_document(render_template(template, context), document, context)


def save_document(docx: DocxTemplate, document: Document, context: dict) -> bytes:
    """Core properties from the data, then deterministic bytes."""
    info, last = document.info, document.revisions[-1]
    properties = docx.docx.core_properties
    properties.title = context["doc"]["title"]
    properties.subject = DOCUMENT_KIND
    properties.identifier = info.file_code
    properties.version = info.version
    properties.author = info.org
    properties.last_modified_by = last.approver
    properties.content_status = "草稿" if context["doc"]["draft"] else info.control_status
    properties.category = info.secrecy
    properties.language = "zh-CN"
    properties.revision = len(document.revisions)
    properties.created = _midnight(document.revisions[0].revised_on)
    properties.modified = _midnight(last.approved_on)
    properties.last_printed = _midnight(last.approved_on)
    buffer = io.BytesIO()
    docx.save(buffer)
    return deterministic_zip(buffer.getvalue())
