"""Render the Word document: the context (opsdoc.generate.context) merged into the template as docxtpl
merges it, from the template prepared once (opsdoc.generate.prepared), and saved as python-docx saves it."""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from lxml import etree

from opsdoc.contract.model import Document
from opsdoc.contract.vocabulary import DOCUMENT_KIND
from opsdoc.errors import OpsdocError, TemplateError
from opsdoc.generate.context import default_template
from opsdoc.generate.prepared import APP, BODY, CORE, FOOTNOTES, HEADER_FOOTER, KEPT, Prepared, prepared
from opsdoc.generate.sandbox import BudgetExceeded, UnescapedOutput, jinja_environment, start_budget
from opsdoc.generate.widths import fitted_tables
from opsdoc.office.output import Deflated, deflated, deterministic_package
from opsdoc.office.package import DOCUMENT, open_package


@dataclass
class Rendered:
    """A document rendered from its template: the parts a render changes, as their bytes, and the core
    properties as docxtpl's render leaves them (save_document then sets opsdoc's)."""

    prepared: Prepared
    parts: dict[str, bytes | Deflated]  # by zip entry name: the main document, headers, footers, footnotes
    properties: CoreProperties


def _rendered(prepared: Prepared, context: dict[str, Any]) -> Rendered:
    """docxtpl's render, step by step and in its order, from what the template shares with every
    document: the body, each header and footer, the core properties, the footnotes."""
    environment = jinja_environment()
    parts: dict[str, bytes | Deflated] = {}
    for name, role in prepared.entries:
        if role == BODY:
            parts[name] = _document(prepared, _xml_of(environment, prepared.sources[name], context))
    for name, role in prepared.entries:
        if role == HEADER_FOOTER:  # docxtpl hands the text to python-docx, which reads and writes it again
            xml = _xml_of(environment, prepared.sources[name], context).encode("utf-8")
            parts[name] = etree.tostring(etree.fromstring(xml, _PYTHON_DOCX_PARSER), encoding="UTF-8", standalone=True)
    properties = CoreProperties(prepared.core)
    for name in TEMPLATED_PROPERTIES:  # each rendered from the template's own text and set, as docxtpl does
        properties.set(name, str(environment.from_string(properties.text(name)).render(context)))
    for name, role in prepared.entries:
        if role == FOOTNOTES:  # docxtpl renders them once per section, each time from the last result
            from docxtpl import DocxTemplate  # only a template with footnotes loads docxtpl

            blob = prepared.footnotes[name]
            for _section in range(prepared.sections):
                source = DocxTemplate.patch_xml(None, blob.decode("utf-8"))
                blob = _xml_of(environment, source, context).encode("utf-8")
            parts[name] = blob
    return Rendered(prepared, parts, properties)


_LISTING = "\t\a\n\f"
_LISTING_CHARACTERS = re.compile(f"[{_LISTING}]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", flags=re.DOTALL)  # docxtpl's, in resolve_listing
# How python-docx reads a part (docx.oxml.parser): what it writes again depends on it.
_PYTHON_DOCX_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False)


def _xml_of(environment: Any, source: str, context: dict[str, Any]) -> str:
    """docxtpl's render_xml_part, giving the same text with fewer passes over a long rendered part.

    docxtpl puts a line break before each paragraph of the source, for the line numbers of Jinja's
    messages, and takes every line break before a paragraph out of the result: opsdoc's messages quote
    the template's text instead, and no rendered part holds such a line break (python-docx drops the
    blank text between elements, a value is escaped), so neither is done (0.1 s of a 20k-row build). Only
    a template filtering its own raw XML ({% filter %} around paragraphs) could tell the difference.
    Its escaped braces ({_{ for a literal {{) are looked for only when the part holds a "_"."""
    xml = str(environment.from_string(source).render(context))
    if "_" in xml:
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    return _resolve_listing(xml)


def _resolve_listing(xml: str) -> str:
    """docxtpl's pass turning tab, line feed, \\a and \\f in text into Word runs, paragraphs and breaks,
    on only the paragraphs that hold one of them: the same XML, without a regex substitution per
    paragraph, run and text of every other paragraph (4 s of a 20k-row build). The paragraphs are cut
    exactly as docxtpl cuts them, with its own pattern; docxtpl loads only when one holds such a character."""
    if not any(character in xml for character in _LISTING):  # four scans in C: 10x a regex's
        return xml
    from docxtpl import DocxTemplate

    return _PARAGRAPH.sub(
        lambda m: (
            DocxTemplate.resolve_listing(None, m.group(0)) if _LISTING_CHARACTERS.search(m.group(0)) else m.group(0)
        ),
        xml,
    )


def _document(prepared: Prepared, body: str) -> bytes | Deflated:
    """The main document part around the rendered body, as docxtpl and python-docx would write it.

    docxtpl parses the rendered body, repairs tables for column loops (`{%tc`) and puts the body back
    into python-docx's tree: at 20k rows that costs seconds (lxml reconciles namespaces node by node) and
    a tree ten times the size of the XML. Without column loops nothing needs the tree: the rendered XML is
    checked to be well-formed in one streaming pass and joined to the part's head and tail."""
    if prepared.column_loops:
        from docxtpl import DocxTemplate  # only a template with column loops loads docxtpl

        tree = DocxTemplate.fix_tables(None, body)
        for number, drawing in enumerate(tree.iter(f"{{{WP}}}docPr"), start=DRAWING_IDS + 1):  # docxtpl's fix_docpr_ids
            drawing.set("id", str(number))
        root = etree.fromstring(prepared.document, _PYTHON_DOCX_PARSER)
        root.replace(root.find(f"{{{W}}}body"), tree)
        return bytes(etree.tostring(root, encoding="UTF-8", standalone=True))
    fitted = fitted_tables(body.encode("utf-8"))  # one copy of a long body, joined without another
    opening = fitted.index(b">") + 1  # the serialized body repeats the root's namespace declarations
    tag = re.sub(r'\s+xmlns:\w+="[^"]*"', "", fitted[:opening].decode("utf-8")).encode("utf-8")
    document = b"".join([prepared.head, tag, memoryview(fitted)[opening:], prepared.tail])
    numbers = itertools.count(DRAWING_IDS + 1)  # drawings must carry distinct ids, as docxtpl numbers them
    numbered = re.sub(rb'(<wp:docPr\b[^>]*?\bid=")\d+"', lambda m: m.group(1) + b"%d" % next(numbers) + b'"', document)
    return _checked_and_deflated(document, numbered)


def _checked_and_deflated(document: bytes, numbered: bytes) -> Deflated:
    """The main document part compressed while libxml2 checks it: zlib works without Python's lock, so
    the two take the time of the check alone (0.15 s of a 20k-row build instead of 0.22)."""
    packed: list[Deflated] = []

    def pack() -> None:
        with contextlib.suppress(Exception):  # a failure (MemoryError) is met again, and raised, below
            packed.append(deflated(numbered))

    worker = threading.Thread(target=pack, name="opsdoc-deflate")
    worker.start()
    try:
        _check_well_formed(document)
    finally:
        worker.join()
    return packed[0] if packed else deflated(numbered)


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
DRAWING_IDS = 1000  # docxtpl numbers a render's drawings on from here


class _NoTree:
    """An lxml parser target that builds nothing: libxml2 checks the XML, Python sees no event."""

    def close(self) -> None:
        return None


def _check_well_formed(document: bytes) -> None:
    """A template whose tags cut through Word's structure renders broken XML: refuse it, never save it.

    libxml2 (what python-docx and Word-side tools parse with) checks it without building a tree:
    a 31 MB body in 0.5 s, against 1.2 s for expat. Sizes are the sandbox budget's business
    (huge_tree); a namespace error is only logged by libxml2, so the log is read as well.
    """
    parser = etree.XMLParser(target=_NoTree(), huge_tree=True, resolve_entities=False, no_network=True)
    with contextlib.suppress(etree.XMLSyntaxError):  # it is in the log, with every other error
        etree.fromstring(document, parser)
    errors = parser.error_log.filter_from_errors()
    if errors:
        raise TemplateStructureError(f"第 {errors[0].line} 行第 {errors[0].column} 列：{errors[0].message}")


class TemplateStructureError(ValueError):
    """The rendered document is not well-formed XML."""


@functools.lru_cache(maxsize=4)
def _template_bytes(template: Path, mtime_ns: int) -> bytes:
    """The template once it passed the same preflight as any .docx (zip bomb, DTD): once per file."""
    open_package(template, DOCUMENT, TemplateError)
    return template.read_bytes()


def preflight(template: Path) -> bytes:
    """The template's bytes, or TemplateError for a file that is missing or unsafe to open."""
    if not template.is_file():
        raise TemplateError(template, "Word 模板不存在")
    return _template_bytes(template, template.stat().st_mtime_ns)


def open_template(template: Path | None = None) -> None:
    """Prepare the template as a render would: a batch does it before its worker processes start,
    which then share it."""
    prepared(preflight(template or default_template()))


def where_in_template(template: Path, exc: Exception) -> str:
    """The template text around the tag that failed, so an author can find it in Word."""
    from opsdoc.office.docx_text import read_document  # only a failing template needs it

    try:
        paragraphs = [p.text for p in read_document(template).all_paragraphs()]
    except OpsdocError:
        return ""
    if isinstance(exc, TemplateSyntaxError):  # Jinja points past the end; an unbalanced tag is the cause
        needle = None
        for text in paragraphs:
            if text.count("{{") != text.count("}}") or text.count("{%") != text.count("%}"):
                needle = (text, max(text.rfind("{{"), text.rfind("{%")))
                break
    else:
        name = re.search(r"'(\w+)' is undefined|attribute '(\w+)'", str(exc))
        word = (name.group(1) or name.group(2)) if name else ""
        found = next((t for t in paragraphs if word and word in t and "{" in t), None)
        needle = (found, found.find(word)) if found else None
    if not needle:
        return ""
    text, at = needle
    start = max(at - 30, 0)
    return f"；位置：「{'…' if start else ''}{text[start : at + 40]}{'…' if at + 40 < len(text) else ''}」"


def render_template(template: Path, context: dict[str, Any]) -> Rendered:
    """docxtpl's render with the sandboxed environment; every failure is a TemplateError naming the place."""
    data = preflight(template)
    try:
        frame = prepared(data)
        start_budget()
        return _rendered(frame, context)
    except UnescapedOutput as exc:
        raise TemplateError(template, str(exc)) from exc
    except BudgetExceeded as exc:
        raise TemplateError(template, str(exc)) from exc
    except (MemoryError, RecursionError) as exc:
        raise TemplateError(
            template, f"模板渲染耗尽了资源（{type(exc).__name__}），已停止：模板中的循环或宏调用过深过大"
        ) from exc
    except TemplateSyntaxError as exc:
        raise TemplateError(template, f"模板标签语法错误：{exc.message}{where_in_template(template, exc)}") from exc
    except SecurityError as exc:
        raise TemplateError(template, f"模板试图访问不允许的内部属性：{exc}{where_in_template(template, exc)}") from exc
    except UndefinedError as exc:
        raise TemplateError(template, f"模板使用了不存在的名称：{exc}{where_in_template(template, exc)}") from exc
    except JinjaError as exc:
        raise TemplateError(template, f"模板无法渲染：{exc}") from exc
    except TemplateStructureError as exc:
        raise TemplateError(
            template, f"模板渲染后的正文不是有效的 Word XML（{exc}）：通常是标签切断了段落或表格的结构"
        ) from exc
    except Exception as exc:  # a damaged .docx surfaces as zip, XML or KeyError deep inside python-docx
        raise TemplateError(template, f"模板不是可用的 Word 文档（{type(exc).__name__}: {exc}）") from exc


def _midnight(value: date) -> datetime:
    return datetime(value.year, value.month, value.day)


def render_document(document: Document, context: dict[str, Any], template: Path | None = None) -> bytes:
    """The finished .docx as bytes: the same context and template always give the same bytes."""
    template = template or default_template()
    return save_document(render_template(template, context), document, context)


EXTENDED = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
VTYPES = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# Counts and timings a word processor records when it saves: whatever the template carries
# describes the template (1 page, 0 words), not the document, so they are dropped; Word
# recounts them when it next saves.
STALE_STATISTICS = (
    "Template", "TotalTime", "Pages", "Words", "Characters", "Lines", "Paragraphs",
    "CharactersWithSpaces", "AppVersion", "DocSecurity",
)  # fmt: skip


def _extended_properties(app: bytes, document: Document, title: str) -> bytes:
    """docProps/app.xml: the producing application, company, manager and the document's title."""
    root = etree.fromstring(app)
    for name in STALE_STATISTICS:
        for element in root.findall(f"{{{EXTENDED}}}{name}"):
            root.remove(element)
    values = {"Application": "opsdoc", "Company": document.info.org, "Manager": document.info.dept_manager}
    for name, value in values.items():
        element = root.find(f"{{{EXTENDED}}}{name}")
        if element is None:
            element = etree.SubElement(root, f"{{{EXTENDED}}}{name}")
        element.text = value
    for part_title in root.iterfind(f"{{{EXTENDED}}}TitlesOfParts/{{{VTYPES}}}vector/{{{VTYPES}}}lpstr"):
        part_title.text = title
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


# The core properties python-docx names, and the element each one writes (docx.oxml.coreprops).
CORE_NAMESPACES = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
}
CORE_ELEMENTS = {
    "author": "dc:creator", "category": "cp:category", "comments": "dc:description",
    "content_status": "cp:contentStatus", "created": "dcterms:created", "identifier": "dc:identifier",
    "language": "dc:language", "last_modified_by": "cp:lastModifiedBy", "modified": "dcterms:modified",
    "revision": "cp:revision", "subject": "dc:subject", "title": "dc:title", "version": "cp:version",
}  # fmt: skip
TEMPLATED_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # docxtpl renders these
XSI = "http://www.w3.org/2001/XMLSchema-instance"


class CoreProperties:
    """docProps/core.xml, read and changed as python-docx's core_properties read and change it: an element
    a property needs is added at the end, text longer than 255 characters is refused, a time is written in
    UTC as W3CDTF (created and modified with their xsi:type), the revision is a positive number."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml, _PYTHON_DOCX_PARSER)

    def _element(self, name: str, add: bool = False) -> Any:
        prefix, local = CORE_ELEMENTS[name].split(":")
        tag = f"{{{CORE_NAMESPACES[prefix]}}}{local}"
        element = self.root.find(tag)
        if element is None and add:
            element = etree.Element(tag, nsmap={prefix: CORE_NAMESPACES[prefix]})
            self.root.append(element)
        return element

    def text(self, name: str) -> str:
        element = self._element(name)
        return "" if element is None or element.text is None else str(element.text)

    def set(self, name: str, value: str | int | datetime) -> None:
        if isinstance(value, datetime):
            self._element(name, add=True).text = value.strftime("%Y-%m-%dT%H:%M:%SZ")
            if name in ("created", "modified"):  # python-docx declares xsi on the root, not on the element
                self.root.set(f"{{{XSI}}}foo", "bar")
                self._element(name).set(f"{{{XSI}}}type", "dcterms:W3CDTF")
                del self.root.attrib[f"{{{XSI}}}foo"]
        elif isinstance(value, int):
            if value < 1:
                raise ValueError(f"revision property requires positive int, got '{value}'")
            self._element(name, add=True).text = str(value)
        else:
            if len(value) > 255:
                raise ValueError(f"exceeded 255 char limit for property, got:\n\n'{value}'")
            self._element(name, add=True).text = value

    def xml(self) -> bytes:
        return bytes(etree.tostring(self.root, encoding="UTF-8", standalone=True))


def save_document(rendered: Rendered, document: Document, context: dict[str, Any]) -> bytes:
    """Core properties from the data, then deterministic bytes: the entries python-docx's save writes, in
    its order (docxtpl's save adds only the pictures and media opsdoc never asks it to replace)."""
    info, last = document.info, document.revisions[-1]
    frame = rendered.prepared
    properties = rendered.properties
    title = context["doc"]["title"]
    ours: tuple[tuple[str, str | int | datetime], ...] = (
        ("title", title),
        ("subject", DOCUMENT_KIND),
        ("identifier", info.file_code),
        ("version", info.version),
        ("author", info.org),
        ("last_modified_by", last.approver),
        ("content_status", "草稿" if context["doc"]["draft"] else info.control_status),
        ("category", info.secrecy),
        ("language", "zh-CN"),
        ("revision", len(document.revisions)),
        ("created", _midnight(document.revisions[0].revised_on)),
        ("modified", _midnight(last.approved_on)),
    )
    for name, value in ours:
        properties.set(name, value)
    entries: list[tuple[str, bytes | Deflated]] = []
    for name, role in frame.entries:
        if role == CORE:
            entries.append((name, properties.xml()))
        elif role == APP:
            entries.append((name, _extended_properties(frame.app, document, title)))
        elif role == KEPT:
            entries.append((name, frame.kept[name]))
        else:
            entries.append((name, rendered.parts[name]))
    return deterministic_package(entries)
