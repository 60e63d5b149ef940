"""Lint a company Word template against the model: names it uses, the ten chapters, the TOC.

Every part docxtpl renders is read on its own (the body, each header and footer — default,
first-page and even-page — and the footnotes), so a finding names the part it is in. The
template is then tried on an example document that fills every column of the contract, so a
misspelt name or a broken tag is found before the first real build, not during it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError

from opsdoc.contract.findings import Finding, Place, Report, finding
from opsdoc.contract.model import SHEETS, ColumnSpec, Document
from opsdoc.contract.vocabulary import CHAPTERS
from opsdoc.errors import TemplateError
from opsdoc.generate.context import build_context, default_template
from opsdoc.generate.render import preflight, render_template, where_in_template
from opsdoc.generate.sandbox import BudgetExceeded, UnescapedOutput, jinja_environment
from opsdoc.qa.expectations import read_expectations

# The parts docxtpl renders, by relationship type, with the name a finding gives them.
RENDERED_PARTS = {RT.HEADER: "header", RT.FOOTER: "footer", RT.FOOTNOTES: "footnotes"}


def _example_value(column: ColumnSpec) -> Any:
    if column.choices:
        return column.choices[0]
    return {"date": date(2026, 1, 1), "number": 1, "paragraphs": "示例段落"}.get(column.kind, "示例")


def example_document() -> Document:
    """A document with every column filled, so every tag of a template has something to show."""
    data: dict[str, Any] = {}
    for spec in SHEETS:
        values = {column.label: _example_value(column) for column in spec.columns}
        data[spec.title] = [values] if spec.is_table else values
    return Document.model_validate(data)


def _finding(code: str, message: str, excerpt: str | None = None, part: str = "body") -> Finding:
    return finding(code, Place(part=part, excerpt=excerpt), message)


def check_template(template: Path | None = None, skip: Iterable[str] = ()) -> Report:
    """Every problem of the template at once; raises TemplateError only for a file that is no .docx."""
    template = template or default_template()
    preflight(template)  # the same package limits as rendering: a template bomb is refused here too
    findings = []
    context = build_context(example_document(), draft=True)
    for part, source in _parts(template):
        findings += _part_findings(template, part, source, context)
    if not findings:  # rendering would only repeat the first problem of a part
        findings += _render(template, context)
    expected = read_expectations(template)
    present = [c for c in expected.chapters if c in CHAPTERS]
    for title in CHAPTERS:
        if title not in expected.chapters:
            findings.append(
                _finding(
                    "template-missing-chapter", f"缺少第{CHAPTERS.index(title) + 1}章「{title}」（Heading 1 段落）"
                )
            )
    if present != [c for c in CHAPTERS if c in present]:
        findings.append(
            _finding("template-chapter-order", f"章节顺序为 {'、'.join(present)}，应为 {'、'.join(CHAPTERS)}")
        )
    if not expected.has_toc:
        findings.append(_finding("template-no-toc", "没有目录域（TOC）：请在 Word 中“引用→目录”插入自动目录"))
    skipped = set(skip)
    return Report(str(template), [f for f in findings if f.code not in skipped])


def _parts(template: Path) -> Iterator[tuple[str, str]]:
    """(part, its Jinja source as docxtpl renders it) for the body and each rendered part."""
    try:
        docx = DocxTemplate(io.BytesIO(template.read_bytes()))
        docx.init_docx()
        yield "body", docx.patch_xml(docx.get_xml())
        relationships = sorted(docx.docx.part.rels.values(), key=lambda r: str(r.target_ref))
        for relationship in relationships:
            part = RENDERED_PARTS.get(relationship.reltype)
            if part and not relationship.is_external and relationship.target_part.blob:
                xml = docx.xml_to_string(parse_xml(relationship.target_part.blob))
                yield part, docx.patch_xml(xml)
    except TemplateError:
        raise
    except Exception as exc:  # the package passed preflight; python-docx still refuses a broken part
        raise TemplateError(template, f"模板不是可用的 Word 文档（{type(exc).__name__}: {exc}）") from exc


def _part_findings(template: Path, part: str, source: str, context: dict[str, Any]) -> list[Finding]:
    """Syntax errors, escaping turned off and unknown top-level names of one part, all at once."""
    try:
        parsed = jinja_environment().parse(source)
    except UnescapedOutput as exc:
        return [_finding("template-unescaped", str(exc), part=part)]
    except TemplateSyntaxError as exc:
        message = f"模板标签语法错误：{exc.message}{where_in_template(template, exc)}"
        return [_finding("template-syntax", message, part=part)]
    names = sorted(meta.find_undeclared_variables(parsed) - set(context))
    return [
        _finding("template-unknown-name", f"模板使用了不存在的名称「{name}」", excerpt=name, part=part)
        for name in names
    ]


def _render(template: Path, context: dict[str, Any]) -> list[Finding]:
    """What only rendering finds (unknown attributes, unsafe access, the budget); anything else is raised."""
    try:
        render_template(template, context)
    except TemplateError as exc:
        cause = exc.__cause__
        if isinstance(cause, TemplateSyntaxError):
            code = "template-syntax"
        elif isinstance(cause, UnescapedOutput):
            code = "template-unescaped"
        elif isinstance(cause, BudgetExceeded):
            code = "template-over-budget"
        elif isinstance(cause, SecurityError):
            code = "template-unsafe"
        elif isinstance(cause, UndefinedError):
            code = "template-unknown-name"
        else:
            raise
        return [_finding(code, exc.message)]
    return []
