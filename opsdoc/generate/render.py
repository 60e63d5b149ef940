"""Render the Word document: docxtpl merges the context (opsdoc.generate.context) into the template."""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import docxtpl
from docx import Document as open_docx
from docx.opc.oxml import serialize_part_xml
from docx.opc.part import Part, XmlPart
from docx.opc.parts.coreprops import CorePropertiesPart
from docx.opc.phys_pkg import PhysPkgWriter
from docx.opc.pkgwriter import PackageWriter
from docx.parts.document import DocumentPart
from docx.parts.hdrftr import FooterPart, HeaderPart
from docxtpl import DocxTemplate
from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from lxml import etree

from opsdoc.contract.model import Document
from opsdoc.contract.vocabulary import DOCUMENT_KIND
from opsdoc.errors import OpsdocError, TemplateError
from opsdoc.generate.cache import Cache
from opsdoc.generate.context import default_template
from opsdoc.generate.sandbox import BudgetExceeded, UnescapedOutput, jinja_environment, start_budget
from opsdoc.generate.widths import fitted_tables
from opsdoc.office.output import Deflated, deflated, deterministic_package
from opsdoc.office.package import DOCUMENT, open_package


class _RenderedDocumentPart(DocumentPart):
    """The main document part holding its rendered XML as bytes, never as an element tree."""

    rendered: bytes

    @property
    def blob(self) -> bytes:
        return self.rendered


class _PreparedTemplate(DocxTemplate):  # type: ignore[misc]  # docxtpl ships no type information
    """docxtpl tuned for long registers and for batches, giving the same document.

    What is the same for every document is done once per process (see _Opened): python-docx
    opening the template (each document renders a deep copy: 3 ms instead of 18 for the sample
    template), the serialized body, the tag clean-up of each part. docxtpl then parses the
    rendered body, repairs tables for column loops (`{%tc`), and moves the body into the
    package: at 20k rows that costs seconds (lxml reconciles namespaces node by node) and a
    tree ten times the size of the XML. Without column loops nothing needs the tree: the
    rendered XML is checked to be well-formed in one streaming pass and stored as the part's bytes.
    """

    docx: Any  # python-docx's Document, once opened
    is_rendered: bool

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.opened = _opened(data)
        self.column_loops = self.opened.column_loops

    def init_docx(self, reload: bool = True) -> None:
        if not self.docx or (self.is_rendered and reload):
            self.docx = copy.deepcopy(self.opened.document)
            self.is_rendered = False

    def get_xml(self) -> str:
        return self.opened.body

    def patch_xml(self, src_xml: str) -> str:
        return _patched_xml(src_xml)

    def render_xml_part(self, src_xml: str, part: Any, context: dict[str, Any], jinja_env: Any = None) -> str:
        """docxtpl's, giving the same text with fewer passes over a long rendered part: the line
        break docxtpl puts before each paragraph (for Jinja's line numbers) is removed without a
        Python callback per paragraph (Python 3.11's re calls one for a group in the replacement),
        and its escaped braces ({_{ for a literal {{) are looked for only when the part holds a "_"."""
        source = src_xml.replace("<w:p ", "\n<w:p ").replace("<w:p>", "\n<w:p>")
        self.current_rendering_part = part
        xml = _BREAK_BEFORE_PARAGRAPH.sub("", str(jinja_env.from_string(source).render(context)))
        if "_" in xml:
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        return self.resolve_listing(xml)

    def resolve_listing(self, xml: str) -> str:
        """docxtpl's pass turning tab, line feed, \\a and \\f in text into Word runs, paragraphs
        and breaks, on only the paragraphs that hold one of them: the same XML, without a regex
        substitution per paragraph, run and text of every other paragraph (4 s of a 20k-row build).
        The paragraphs are cut exactly as docxtpl cuts them, with its own pattern."""
        if not any(character in xml for character in _LISTING):  # four scans in C: 10x a regex's
            return xml
        resolve: Callable[[str], str] = super().resolve_listing
        return _PARAGRAPH.sub(
            lambda m: resolve(m.group(0)) if _LISTING_CHARACTERS.search(m.group(0)) else m.group(0), xml
        )

    def fix_tables(self, xml: str) -> Any:
        if self.column_loops:
            return super().fix_tables(xml)
        body = fitted_tables(xml.encode("utf-8"))  # one copy of a long body, joined without another
        opening = body.index(b">") + 1  # the serialized body repeats the root's namespace declarations
        tag = re.sub(r'\s+xmlns:\w+="[^"]*"', "", body[:opening].decode("utf-8")).encode("utf-8")
        document = b"".join([self.opened.head, tag, memoryview(body)[opening:], self.opened.tail])
        _check_well_formed(document)
        return document

    def fix_docpr_ids(self, tree: Any) -> Any:
        if self.column_loops:
            return super().fix_docpr_ids(tree)

        # Drawings must carry distinct ids; renumber them in the bytes, as docxtpl does in the tree.
        def renumber(match: re.Match[bytes]) -> bytes:
            self.docx_ids_index += 1
            return bytes(match.group(1)) + str(self.docx_ids_index).encode() + b'"'

        self.rendered = re.sub(rb'(<wp:docPr\b[^>]*?\bid=")\d+"', renumber, tree)

    def map_tree(self, tree: Any) -> Any:
        if self.column_loops:
            return super().map_tree(tree)
        part = self.docx.part
        part.__class__ = _RenderedDocumentPart
        part.rendered = self.rendered


_LISTING = "\t\a\n\f"
_LISTING_CHARACTERS = re.compile(f"[{_LISTING}]")
_BREAK_BEFORE_PARAGRAPH = re.compile(r"\n(?=<w:p[ >])")  # docxtpl's, in render_xml_part
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", flags=re.DOTALL)  # docxtpl's, in resolve_listing


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


_PATCHED = Cache("patched", Path(__file__), docxtpl.__version__)


@functools.lru_cache(maxsize=32)
def _patched_xml(src_xml: str) -> str:
    """docxtpl's tag clean-up of a part: once per process, and kept between runs."""
    return _PATCHED.get(src_xml.encode(), lambda: str(DocxTemplate.patch_xml(None, src_xml)).encode()).decode()


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


@dataclass(frozen=True)
class _Opened:
    """A template as python-docx opened it (never rendered, only copied), and what every render shares."""

    document: Any
    body: str  # the body as docxtpl serializes it
    head: bytes  # the document part's XML before the body, as python-docx serializes it
    tail: bytes  # and after it
    column_loops: bool
    blobs: dict[str, tuple[bytes, Deflated]]  # the parts kept as bytes, by zip member name, and compressed

    def packed(self, name: str, blob: bytes) -> bytes | Deflated:
        """A document's part as deterministic_package takes it: compressed already if it is the template's."""
        kept = self.blobs.get(name)
        return kept[1] if kept is not None and kept[0] is blob else blob


@functools.lru_cache(maxsize=4)
def _opened(data: bytes) -> _Opened:
    document = open_docx(io.BytesIO(data))
    whole = serialize_part_xml(document.element)
    start, end = whole.index(b"<w:body"), whole.rindex(b"</w:body>") + len(b"</w:body>")
    body = etree.tostring(document.element.body, encoding="unicode", pretty_print=False)  # docxtpl's get_xml
    column_loops = re.search(r"\{%-?\s*tc\b", re.sub(r"<[^>]+>", "", body)) is not None
    parts = list(document.part.package.parts)
    for part in parts:
        if isinstance(part, XmlPart) and not isinstance(part, _RENDERED_PARTS):
            _as_bytes(part)
    blobs = {part.partname.membername: (part.blob, deflated(part.blob)) for part in parts if type(part) is Part}
    return _Opened(document, body, whole[:start], whole[end:], column_loops, blobs)


def _as_bytes(part: Any) -> None:
    """A part no render changes (styles, numbering, settings: the sample's styles are 350 kB of XML)
    becomes the bytes python-docx would write for it: a copy shares them, a save writes them as they are."""
    part._blob = part.blob
    del part._element
    part.__class__ = Part


# The parts a render changes: the body, headers and footers (docxtpl), the core properties (save_document).
_RENDERED_PARTS = (DocumentPart, HeaderPart, FooterPart, CorePropertiesPart)


def open_template(template: Path | None = None) -> None:
    """Open the template as a render would (python-docx, docxtpl loaded): a batch does it before
    its worker processes start, which then share it."""
    _opened(preflight(template or default_template()))


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


def render_template(template: Path, context: dict[str, Any]) -> DocxTemplate:
    """docxtpl with the sandboxed environment; every failure is a TemplateError naming the place."""
    data = preflight(template)
    try:
        docx = _PreparedTemplate(data)
        start_budget()
        docx.render(context, jinja_env=jinja_environment(), autoescape=True)
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
    except Exception as exc:  # a damaged .docx surfaces as zip, XML or KeyError deep inside docxtpl
        raise TemplateError(template, f"模板不是可用的 Word 文档（{type(exc).__name__}: {exc}）") from exc
    return docx


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


def _extended_properties(docx: DocxTemplate, document: Document, title: str) -> None:
    """docProps/app.xml: the producing application, company, manager and the document's title."""
    part = next((p for p in docx.docx.part.package.parts if p.partname == "/docProps/app.xml"), None)
    if part is None:  # optional in OOXML; a template without it gets none
        return
    root = etree.fromstring(part.blob)
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
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def save_document(docx: DocxTemplate, document: Document, context: dict[str, Any]) -> bytes:
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
    _extended_properties(docx, document, properties.title)
    # python-docx's save without docxtpl's: opsdoc never asks docxtpl to replace pictures or media,
    # the only things docxtpl's save adds around python-docx's.
    return deterministic_package(_members(docx))


class _Members:
    """python-docx's package writer, collecting the entries instead of compressing them into a zip
    that deterministic_zip would only decompress and compress again (≈ 20 ms a document). A part
    the document shares with its template is compressed once per template."""

    def __init__(self, opened: _Opened) -> None:
        self.opened = opened
        self.members: list[tuple[str, bytes | Deflated]] = []

    def write(self, pack_uri: Any, blob: bytes) -> None:
        self.members.append((pack_uri.membername, self.opened.packed(pack_uri.membername, blob)))

    def close(self) -> None:
        pass


def _members(docx: DocxTemplate) -> list[tuple[str, bytes | Deflated]]:
    """The .docx's entries in the order python-docx's OpcPackage.save writes them."""
    package = docx.docx.part.package
    for part in package.parts:
        part.before_marshal()
    members = _Members(docx.opened)
    writer = cast(PhysPkgWriter, members)  # it has the two methods PackageWriter calls: write, close
    PackageWriter._write_content_types_stream(writer, package.parts)  # type: ignore[no-untyped-call]  # untyped in python-docx
    PackageWriter._write_pkg_rels(writer, package.rels)  # type: ignore[no-untyped-call]  # untyped in python-docx
    PackageWriter._write_parts(writer, package.parts)
    return members.members
