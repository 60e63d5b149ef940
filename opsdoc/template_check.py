"""Lint a company Word template against the model: names it uses, the ten chapters, the TOC.

A template is tried on an example document that fills every column of the contract, so a
misspelt name or a broken tag is found before the first real build, not during it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jinja2 import meta

from opsdoc.errors import TemplateError
from opsdoc.model import SHEETS, Document
from opsdoc.context import build_context
from opsdoc.render import default_template, jinja_environment, render_template
from opsdoc.report import Finding, Location, Report, Severity
from opsdoc.verify import read_expectations

# The company template's chapters (seeds/000_…): every 运维工作管理规范 has these, in this order.
CHAPTERS = ("项目背景", "组织职责", "目标和范围", "服务目录和服务级别协议", "工作计划",
            "项目管理", "资源和工具", "工作规范", "绩效考核", "服务合同")

TEMPLATE_CODES = {
    "template-syntax": "模板标签语法错误",
    "template-unknown-name": "模板使用了上下文中没有的名称",
    "template-unsafe": "模板访问了不允许的内部属性",
    "template-missing-chapter": "模板缺少规范的一章（Heading 1）",
    "template-chapter-order": "模板的章节顺序与规范不同",
    "template-no-toc": "模板没有目录域",
}


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
    return Finding(code, Severity.ERROR, Location(part="body", excerpt=excerpt), message)


def check_template(template: Path | None = None) -> Report:
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
            findings.append(_finding("template-missing-chapter", f"缺少第{CHAPTERS.index(title) + 1}章「{title}」（Heading 1 段落）"))
    if present != [c for c in CHAPTERS if c in present]:
        findings.append(_finding("template-chapter-order", f"章节顺序为 {'、'.join(present)}，应为 {'、'.join(CHAPTERS)}"))
    if not expected.has_toc:
        findings.append(_finding("template-no-toc", "没有目录域（TOC）：请在 Word 中“引用→目录”插入自动目录"))
    return Report(str(template), findings)


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
