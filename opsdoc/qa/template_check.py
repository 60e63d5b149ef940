"""Lint a company Word template against the model: names it uses, the ten chapters, the TOC.

A template is tried on an example document that fills every column of the contract, so a
misspelt name or a broken tag is found before the first real build, not during it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from jinja2 import meta

from opsdoc.contract.findings import Finding, Place, Report, finding
from opsdoc.contract.model import SHEETS, Document
from opsdoc.contract.vocabulary import CHAPTERS
from opsdoc.errors import TemplateError
from opsdoc.generate.context import build_context, default_template
from opsdoc.generate.render import jinja_environment, render_template
from opsdoc.qa.expectations import read_expectations


def _example_value(column):
    if column.choices:
        return column.choices[0]
    return {"date": date(2026, 1, 1), "number": 1, "paragraphs": "示例段落"}.get(column.kind, "示例")


def example_document() -> Document:
    """A document with every column filled, so every tag of a template has something to show."""
    data = {}
    for spec in SHEETS:
        values = {column.label: _example_value(column) for column in spec.columns}
        data[spec.title] = [values] if spec.is_table else values
    return Document.model_validate(data)


def _finding(code: str, message: str, excerpt: str | None = None) -> Finding:
    return finding(code, Place(part="body", excerpt=excerpt), message)


def check_template(template: Path | None = None, skip: Iterable[str] = ()) -> Report:
    """Every problem of the template at once; raises TemplateError only for a file that is no .docx."""
    template = template or default_template()
    if not template.is_file():
        raise TemplateError(template, "Word 模板不存在")
    findings = []
    context = build_context(example_document(), draft=True)
    findings += _unknown_names(template, context)
    if not findings:  # rendering would only repeat the first unknown name
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


def _unknown_names(template: Path, context: dict) -> list[Finding]:
    """Top-level names the template uses that the context lacks, all at once."""
    from docxtpl import DocxTemplate

    try:
        docx = DocxTemplate(str(template))
        docx.init_docx()
        source = docx.patch_xml(docx.get_xml())
        parsed = jinja_environment().parse(source)
    except Exception:  # a syntax error: rendering reports it with the place
        return []
    names = sorted(meta.find_undeclared_variables(parsed) - set(context))
    return [_finding("template-unknown-name", f"模板使用了不存在的名称「{name}」", excerpt=name) for name in names]


def _render(template: Path, context: dict) -> list[Finding]:
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        render_template(template, context)
    except TemplateError as exc:
        cause = exc.__cause__
        if isinstance(cause, TemplateSyntaxError):
            code = "template-syntax"
        elif isinstance(cause, SecurityError):
            code = "template-unsafe"
        elif isinstance(cause, UndefinedError):
            code = "template-unknown-name"
        else:
            raise
        return [_finding(code, exc.message)]
    return []
