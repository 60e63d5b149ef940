"""Read any .docx as text: paragraphs and tables in reading order, each knowing where it is.

verify and diff work on this view rather than on python-docx objects, so a document edited in
Word (content controls, split runs, tracked insertions, text boxes) reads the same as a
generated one.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar

from lxml import etree

from opsdoc.contract.findings import Place
from opsdoc.errors import UnusableDocument
from opsdoc.office.package import DOCUMENT, open_package

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# python-docx loads (35 ms) only where a document is read: checking a package and the 对比稿 need these alone.
MAIN_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CORE_PROPERTIES = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MC_FALLBACK = MC + "Fallback"
# Containers whose children are read as if they stood in the parent.
TRANSPARENT = {W + "sdt", W + "sdtContent", W + "customXml"}
# Text that is not part of the paragraph it sits in: deleted text, text boxes (read as paragraphs
# of their own, see _text_boxes), and the fallback copy of drawings.
SKIPPED = {W + "del", W + "moveFrom", W + "txbxContent", MC_FALLBACK, W + "pPr", W + "rPr"}  # accepted view
TEXT = (W + "t", W + "tab", W + "br", W + "cr")  # what a paragraph's text is made of
OFF = ("0", "false", "off")
Xml = Any  # an lxml element (lxml ships no type stubs here)


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    style: str
    part: str  # "body", "header" or "footer"
    index: int | None = None  # 1-based among the part's paragraphs outside tables
    table: int | None = None  # 1-based table number, for a paragraph in a table cell
    row: int | None = None
    hidden: str = ""  # text formatted as hidden (w:vanish): in the file, but not on screen or paper
    text_box: bool = False  # read from a text box anchored in the paragraph `index` (or cell `table`/`row`)

    @property
    def is_toc_entry(self) -> bool:
        """A line of the table of contents: field result, rewritten whenever the TOC updates."""
        return self.style.lower().startswith("toc ")

    def location(self, excerpt: str | None = None) -> Place:
        return Place(
            part=self.part,
            paragraph=self.index,
            table=self.table,
            row=self.row,
            excerpt=shorten(self.text if excerpt is None else excerpt),
        )


@dataclass(frozen=True, slots=True)
class Table:
    number: int
    style: str | None
    rows: tuple[tuple[str, ...], ...]  # per grid column, a cell's paragraphs joined by "\n"; merged cells:
    # a cell merged down repeats the text it continues, one spanning columns is followed by "" for each
    header_rows: int  # leading rows marked to repeat on each page
    caption: str  # the nearest non-empty paragraph above the table
    paragraphs: tuple[Paragraph, ...]  # every paragraph of every cell

    def location(self, row: int | None = None, excerpt: str | None = None) -> Place:
        if excerpt is None and row is not None:
            excerpt = " ".join(self.rows[row - 1])
        return Place(part="body", table=self.number, row=row, excerpt=shorten(excerpt) if excerpt else None)


class PageSetup(NamedTuple):
    """A section's page, in twips; None where the document leaves it to the application default."""

    width: int | None
    height: int | None
    orientation: str
    top: int | None
    bottom: int | None
    left: int | None
    right: int | None


@dataclass
class WordDocument:
    path: Path
    body: list[Paragraph | Table]  # top-level blocks in reading order
    headers: list[Paragraph]
    footers: list[Paragraph]
    sections: list[PageSetup]
    defined_styles: set[str]
    version: str  # core property "version"; "" when absent
    modified: datetime | None  # core property "modified"
    has_toc: bool
    # w:altChunk: content Word imports on open (HTML, RTF, another .docx); (where, part name).
    imported: list[tuple[Place, str]] = field(default_factory=list)
    tables: list[Table] = field(init=False)

    def __post_init__(self) -> None:
        self.tables = [b for b in self.body if isinstance(b, Table)]

    def body_paragraphs(self) -> list[Paragraph]:
        """Paragraphs outside tables, in order."""
        return [b for b in self.body if isinstance(b, Paragraph)]

    def all_body_paragraphs(self) -> Iterator[Paragraph]:
        """Every body paragraph in reading order, table cells included."""
        for block in self.body:
            yield from block.paragraphs if isinstance(block, Table) else (block,)

    def all_paragraphs(self) -> Iterator[Paragraph]:
        yield from self.all_body_paragraphs()
        yield from self.headers
        yield from self.footers


def shorten(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def preflight(path: Path) -> None:
    """Refuse what is not a .docx package before its body is parsed: another kind of file, or a Word
    package of another kind (a macro document, a template)."""
    names = open_package(path, DOCUMENT, UnusableDocument)
    if "word/document.xml" not in names:
        what = "Excel 工作簿" if "xl/workbook.xml" in names else "压缩包"
        raise UnusableDocument(path, f"这是{what}，不是 Word 文档（.docx）")
    try:
        with zipfile.ZipFile(path) as archive:
            types = etree.fromstring(archive.read("[Content_Types].xml"))
    except Exception as exc:  # a package without its content types is damaged
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc
    main = next((o.get("ContentType") for o in types if (o.get("PartName") or "") == "/word/document.xml"), None)
    if main is not None and main != MAIN_DOCUMENT:
        raise UnusableDocument(path, "这不是普通的 Word 文档（.docx），而是宏文档或模板：请在 Word 中另存为 .docx")


def read_document(path: Path | str) -> WordDocument:
    """Read a .docx; raises UnusableDocument when it is not one or cannot be read."""
    path = Path(path)
    preflight(path)
    try:
        document = _without_body(path)
        with zipfile.ZipFile(path) as archive, archive.open(document.part.partname.membername) as body:
            return _Reader(document).read(path, body)
    except UnusableDocument:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds for a damaged package
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc


T = TypeVar("T")


def core_properties(source: Path | str | bytes) -> Any | None:
    """The .docx's core properties (python-docx's CT_CoreProperties: `modified_datetime`, `author_text`,
    `contentStatus_text` …), read from that part alone; None when the package has none.

    `source` is a path (checked as read_document checks it) or the bytes of a package already trusted
    (an archived file whose SHA-256 was checked). Raises UnusableDocument as read_document does.
    """

    def parsed(part: bytes) -> Any:
        from docx.oxml.parser import parse_xml

        return parse_xml(part)

    return _core_part(source, parsed)


def modified_time(source: Path | str | bytes) -> datetime | None:
    """The .docx's core property "modified" in UTC (the PDF is dated from it); None when it has none.

    Read with lxml alone: python-docx takes 35–50 ms to import, paid by every batch worker before
    its first PDF.
    """

    def modified(part: bytes) -> datetime | None:
        found = etree.fromstring(part).find("{http://purl.org/dc/terms/}modified")
        return _w3cdtf(found.text) if found is not None and found.text else None

    return _core_part(source, modified)


def _core_part(source: Path | str | bytes, parse: Callable[[bytes], T]) -> T | None:
    """`parse` of the package's core properties part; None when it has none."""
    path = None if isinstance(source, bytes) else Path(source)
    if path is not None:
        preflight(path)
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            relationships = etree.fromstring(archive.read("_rels/.rels"))
            for relationship in relationships:
                if relationship.get("Type") == CORE_PROPERTIES:
                    target = relationship.get("Target", "").lstrip("/")
                    return parse(archive.read(target)) if target in archive.namelist() else None
    except Exception as exc:  # a damaged package: as read_document reports it
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc
    return None


# W3CDTF (YYYY, YYYY-MM, YYYY-MM-DD, or a date and hh:mm[:ss[.s]] with Z or ±hh:mm), as Word, WPS and
# LibreOffice write it; also a time without a zone (UTC, as python-docx reads it) and ±hhmm.
W3CDTF = re.compile(
    r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?(Z|([+-])(\d\d):?(\d\d))?)?)?)?", re.IGNORECASE
)


def _w3cdtf(text: str) -> datetime | None:
    """The time in UTC, to the second; the value python-docx's modified_datetime gives for what Word, WPS
    and LibreOffice write. None for anything else (python-docx gives None, or raises, for most of it),
    so such a document's PDF is dated as one without the property."""
    found = W3CDTF.fullmatch(text.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second, _zone, sign, zone_hours, zone_minutes = found.groups()
    try:
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
        )
        if sign:
            offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
            moment = moment - offset if sign == "+" else moment + offset
    except (ValueError, OverflowError):  # 2026-13-01; 0001-01-01T00:00+08:00 is before the first year
        return None
    return moment


# The main document part as python-docx is handed it: the body is streamed instead (see _Body).
EMPTY_DOCUMENT = f'<w:document xmlns:w="{W[1:-1]}"/>'.encode()


def _without_body(path: Path) -> Any:
    """python-docx's Document for the package (styles, relationships, headers and footers, core
    properties), without parsing the body: for a 25,000-row register its tree alone is ~500 MB."""
    from docx.opc.constants import CONTENT_TYPE as CT
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.package import Unmarshaller
    from docx.opc.part import PartFactory
    from docx.opc.pkgreader import PackageReader
    from docx.package import Package

    def part(partname: Any, content_type: str, reltype: str, blob: bytes, package: Any) -> Any:
        if reltype == RT.OFFICE_DOCUMENT and content_type == CT.WML_DOCUMENT_MAIN:
            blob = EMPTY_DOCUMENT
        return PartFactory(partname, content_type, reltype, blob, package)

    package = Package()
    reader = PackageReader.from_file(str(path))  # type: ignore[no-untyped-call]  # untyped in python-docx
    Unmarshaller.unmarshal(reader, package, part)  # type: ignore[no-untyped-call]
    main = package.main_document_part
    if main.content_type != CT.WML_DOCUMENT_MAIN:  # as docx.Document refuses a .dotx or .docm
        raise ValueError(f"file '{path}' is not a Word file, content type is '{main.content_type}'")
    return main.document


class _Reader:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.style_names = {s.style_id: s.name for s in document.styles}
        self.hiding_styles = _hiding_styles(document.styles.element)
        from docx.enum.style import WD_STYLE_TYPE

        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default_style = default.name if default is not None else "Normal"
        # What makes a paragraph more than runs of text, so that _texts must walk it.
        self.intricate: tuple[str, ...] = (W + "del", W + "moveFrom", W + "txbxContent", MC_FALLBACK, W + "vanish")
        self.intricate += (W + "rStyle",) if self.hiding_styles else ()
        # What _Rows._plain_cells looks at.
        self.plain_row = (W + "tc", W + "p", W + "pStyle", W + "vMerge", W + "gridSpan", *TEXT, *self.intricate)

    def read(self, path: Path, source: IO[bytes]) -> WordDocument:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT

        document = self.document
        stream = _Body(self, source)
        body = list(stream.blocks())
        headers: list[Paragraph] = []
        footers: list[Paragraph] = []
        for rel in sorted(document.part.rels.values(), key=lambda r: str(r.target_ref)):
            if rel.is_external or rel.reltype not in (RT.HEADER, RT.FOOTER):
                continue
            part = "header" if rel.reltype == RT.HEADER else "footer"
            target = headers if part == "header" else footers
            target.extend(self._part_paragraphs(rel.target_part.element, part))
        return WordDocument(
            path=path,
            body=body,
            headers=headers,
            footers=footers,
            sections=stream.sections,
            defined_styles={s.name for s in document.styles},
            version=document.core_properties.version or "",
            modified=document.core_properties.modified,
            has_toc=stream.has_toc,
            imported=stream.imported,
        )

    def imported(self, chunk: Xml, paragraphs: int) -> tuple[Place, str]:
        """An altChunk with the part it imports, placed at the body paragraph before it."""
        rel = self.document.part.rels.get(chunk.get(R_ID) or "")
        name = "（缺失的部件）"
        if rel is not None:
            name = rel.target_ref if rel.is_external else str(rel.target_part.partname)
        return Place(part="body", paragraph=paragraphs or None, excerpt=name), name

    def _style(self, element: Xml, props: str, tag: str) -> str | None:
        node = _find(element, W + props, W + tag)
        if node is None:
            return None
        style_id = node.get(W + "val")
        return str(self.style_names.get(style_id, style_id))

    def style_name(self, style_id: str | None) -> str:
        return self.default_style if style_id is None else str(self.style_names.get(style_id, style_id))

    def _paragraph(self, p: Xml, part: str, intricate: bool, **place: Any) -> Paragraph:
        """`intricate`: the paragraph holds more than runs of text (see __init__)."""
        node = _find(p, W + "pPr", W + "pStyle")
        style_id = None if node is None else node.get(W + "val")
        style = self.style_name(style_id)
        hidden_by_style = style_id in self.hiding_styles
        shown = None if intricate or hidden_by_style else _plain_text(p)
        if shown is not None:
            return Paragraph(shown, style, part, **place)
        shown, hidden = _texts(p, self.hiding_styles, hidden_by_style)
        return Paragraph(shown, style, part, hidden=hidden, **place)

    def _with_text_boxes(self, p: Xml, part: str, **place: Any) -> list[Paragraph]:
        """The paragraph, then the paragraphs of the text boxes anchored in it, located at the anchor."""
        # Found by lxml's own search without walking in Python: most paragraphs are plain runs.
        intricate = next(p.iter(*self.intricate), None) is not None
        found = [self._paragraph(p, part, intricate, **place)]
        if not intricate or next(p.iter(W + "txbxContent"), None) is None:
            return found
        for box in _text_boxes(p):
            for inner in box.iter(W + "p"):
                if not _in_text_box(inner, box):  # a box in the box: read with its own anchor
                    boxed = self._with_text_boxes(inner, part, **place)
                    found += [dataclasses.replace(q, text_box=True) for q in boxed]
        return found

    def _part_paragraphs(self, root: Xml, part: str) -> Iterator[Paragraph]:
        for block in self._blocks(root, part):
            yield from block.paragraphs if isinstance(block, Table) else (block,)

    def _blocks(self, container: Xml, part: str) -> Iterator[Paragraph | Table]:
        paragraphs = tables = 0
        caption = ""
        for element in _children(container):
            if element.tag == W + "p":
                paragraphs += 1
                paragraph, *boxed = self._with_text_boxes(element, part, index=paragraphs)
                if paragraph.text.strip():
                    caption = paragraph.text
                yield paragraph
                yield from boxed
            elif element.tag == W + "tbl":
                tables += 1
                rows = _Rows(self, tables, part)
                for tr in (e for e in _children(element) if e.tag == W + "tr"):
                    rows.add(tr)
                yield rows.table(element, caption)


_Cell = tuple[list[Paragraph], Xml | None, Xml | None]  # its paragraphs, its first tcPr/vMerge and tcPr/gridSpan


class _PlainCell:
    """A cell as _Rows._plain_cells finds it, before its paragraphs are made."""

    __slots__ = ("merge", "span", "styles", "texts")

    def __init__(self) -> None:
        self.merge: Xml | None = None  # its first tcPr/vMerge
        self.span: Xml | None = None  # its first tcPr/gridSpan
        self.styles: list[Xml | None] = []  # each paragraph's first pPr/pStyle
        self.texts: list[list[str]] = []  # each paragraph's pieces of text


class _Rows:
    """A table read row by row: a cell merged down needs the row above, a header row those before."""

    def __init__(self, reader: _Reader, number: int, part: str) -> None:
        self.reader, self.number, self.part = reader, number, part
        self.rows: list[tuple[str, ...]] = []
        self.paragraphs: list[Paragraph] = []
        self.header_rows = 0
        self.in_header = True

    def add(self, tr: Xml) -> None:
        header = _find(tr, W + "trPr", W + "tblHeader")
        self.in_header = self.in_header and header is not None and header.get(W + "val", "true") not in ("0", "false")
        self.header_rows += self.in_header
        r = len(self.rows) + 1
        rows = self.rows
        cells: list[str] = []
        for paragraphs, merge, span in self._plain_cells(tr, r) or self._cells(tr, r):
            self.paragraphs.extend(paragraphs)
            text = "\n".join(p.text for p in paragraphs if not p.text_box)
            if merge is not None and merge.get(W + "val", "continue") == "continue" and rows:
                above = rows[-1]  # a cell merged down: it shows the text of the cell it continues
                text = above[len(cells)] if len(cells) < len(above) else text
            width = int(span.get(W + "val", "1")) if span is not None and span.get(W + "val", "").isdigit() else 1
            cells += [text] + [""] * (width - 1)  # one entry per grid column, so columns stay aligned
        rows.append(tuple(cells))

    def _cells(self, tr: Xml, r: int) -> Iterator[_Cell]:
        for tc in (e for e in _children(tr) if e.tag == W + "tc"):
            paragraphs = [
                q
                for p in tc.iter(W + "p")
                if not _in_text_box(p, tc)
                for q in self.reader._with_text_boxes(p, self.part, table=self.number, row=r)
            ]
            yield paragraphs, _find(tc, W + "tcPr", W + "vMerge"), _find(tc, W + "tcPr", W + "gridSpan")

    def _plain_cells(self, tr: Xml, r: int) -> list[_Cell] | None:
        """The cells of a row made of paragraphs of plain runs (a register's row), read as _cells
        reads them but in one lxml search of the row; None for any other row.

        _cells costs a dozen lxml calls a paragraph: most of the time a long register takes.
        """
        cells: list[_PlainCell] = []
        tc = p = None
        cell = _PlainCell()  # each w:tc's, from the first on
        for element in tr.iter(*self.reader.plain_row):
            tag, parent = element.tag, element.getparent()
            if tag in TEXT:
                if p is None or parent.tag != W + "r" or parent.getparent() is not p:
                    return None  # text outside a run of one of the cell's paragraphs
                cell.texts[-1].append(_piece(element))
            elif tag == W + "p":
                if parent is not tc:
                    return None  # a paragraph in a content control or a nested table
                p = element
                cell.styles.append(None)
                cell.texts.append([])
            elif tag == W + "tc":
                if parent is not tr:
                    return None
                tc, p, cell = element, None, _PlainCell()
                cells.append(cell)
            elif tag == W + "pStyle":
                if p is not None and parent.tag == W + "pPr" and parent.getparent() is p and cell.styles[-1] is None:
                    cell.styles[-1] = element
            elif tag in (W + "vMerge", W + "gridSpan"):
                if tc is not None and parent.tag == W + "tcPr" and parent.getparent() is tc:
                    if tag == W + "vMerge":
                        cell.merge = element if cell.merge is None else cell.merge
                    else:
                        cell.span = element if cell.span is None else cell.span
            else:
                return None  # hidden, deleted or boxed text
        reader, found = self.reader, []
        for cell in cells:
            paragraphs = []
            for node, pieces in zip(cell.styles, cell.texts, strict=True):
                style_id = None if node is None else node.get(W + "val")
                if style_id in reader.hiding_styles:
                    return None  # its runs are hidden unless they say otherwise
                style = reader.style_name(style_id)
                paragraphs.append(Paragraph("".join(pieces), style, self.part, table=self.number, row=r))
            found.append((paragraphs, cell.merge, cell.span))
        return found

    def table(self, tbl: Xml, caption: str) -> Table:
        style = self.reader._style(tbl, "tblPr", "tblStyle")
        return Table(self.number, style, tuple(self.rows), self.header_rows, caption, tuple(self.paragraphs))


# What the body stream stops at: blocks and rows to read, sections, and TOC fields.
STREAMED = [W + tag for tag in ("p", "tr", "tbl", "altChunk", "sectPr", "instrText", "fldSimple")]


class _Body:
    """The main document's body, parsed as a stream and freed as it is read.

    Each top-level paragraph, and each row of a top-level table, is read as _Reader reads a
    whole tree once its end tag is parsed, then cleared, so memory holds the text read, not the
    XML (a 25,000-row register is ~1.8 million elements). Also collected on the way, as
    python-docx would give them: the sections, whether a TOC field stands in the body, altChunks.
    """

    def __init__(self, reader: _Reader, source: IO[bytes]) -> None:
        self.reader = reader
        self.source = source
        self.sections: list[PageSetup] = []
        self.has_toc = False
        self.imported: list[tuple[Place, str]] = []

    def blocks(self) -> Iterator[Paragraph | Table]:
        from docx.oxml.parser import parse_xml
        from docx.section import Section

        reader = self.reader
        body = None  # the root's first w:body, as python-docx's document.element.body
        paragraphs = tables = 0
        caption = ""
        rows: _Rows | None = None  # the top-level table being read
        # The parser options of python-docx's own (oxml_parser), so text reads the same.
        parsed = etree.iterparse(self.source, tag=STREAMED, remove_blank_text=True, resolve_entities=False)
        for _, element in parsed:
            tag = element.tag
            if body is None:
                body = element.getroottree().getroot().find(W + "body")
            if tag == W + "sectPr":
                if _in_document_sections(element):
                    self.sections.append(_page_setup(Section(parse_xml(etree.tostring(element)), reader.document.part)))
                continue
            if tag in (W + "instrText", W + "fldSimple"):
                self.has_toc = self.has_toc or (_is_toc(element) and _within(element, body))
                continue
            container = _container(element)
            if body is None or container is None:
                continue  # outside the body
            if tag == W + "tr":
                if container.tag == W + "tbl" and _container(container) is body:
                    rows = rows or _Rows(reader, tables + 1, "body")
                    rows.add(element)
                    _free(element)
                continue
            if container is not body:
                continue  # in a table cell, a text box or some other element
            if tag == W + "p":
                paragraphs += 1
                paragraph, *boxed = reader._with_text_boxes(element, "body", index=paragraphs)
                if paragraph.text.strip():
                    caption = paragraph.text
                yield paragraph
                yield from boxed
            elif tag == W + "tbl":
                tables += 1
                yield (rows or _Rows(reader, tables, "body")).table(element, caption)
                rows = None
            elif tag == W + "altChunk":
                self.imported.append(reader.imported(element, paragraphs))
            _free(element)
        if body is None:
            raise ValueError("word/document.xml has no w:body")


def _container(element: Xml) -> Xml | None:
    """The element a block or row stands in, looking through content controls and similar wrappers."""
    parent = element.getparent()
    while parent is not None and parent.tag in TRANSPARENT:
        parent = parent.getparent()
    return parent


def _within(element: Xml, ancestor: Xml) -> bool:
    parent = element.getparent()
    while parent is not None and parent is not ancestor:
        parent = parent.getparent()
    return parent is not None


def _is_root_body(element: Xml | None) -> bool:
    return element is not None and element.tag == W + "body" and _is_root(element.getparent())


def _is_root(element: Xml | None) -> bool:
    return element is not None and element.getparent() is None


def _in_document_sections(sect_pr: Xml) -> bool:
    """Whether python-docx counts this w:sectPr a section: ./w:body/w:sectPr | ./w:body/w:p/w:pPr/w:sectPr."""
    parent = sect_pr.getparent()
    if _is_root_body(parent):
        return True
    if parent is None or parent.tag != W + "pPr":
        return False
    p = parent.getparent()
    return p is not None and p.tag == W + "p" and _is_root_body(p.getparent())


def _free(element: Xml) -> None:
    """Drop a read element's content, and the read ones of its kind before it (not tblPr and the like)."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    previous = element.getprevious()
    while previous is not None and previous.tag == element.tag:
        parent.remove(previous)
        previous = element.getprevious()


def _children(container: Xml) -> Iterator[Xml]:
    """Child elements, looking through content controls and similar wrappers."""
    for child in container:
        if child.tag in TRANSPARENT:
            yield from _children(child)
        else:
            yield child


def _find(element: Xml, tag: str, inner: str | None = None) -> Xml | None:
    """element.find(tag), or element.find("tag/inner"): run for every paragraph and cell, where
    lxml's ElementPath costs several times this loop."""
    for child in element:
        if child.tag == tag:
            if inner is None:
                return child
            for grandchild in child:
                if grandchild.tag == inner:
                    return grandchild
    return None


def _plain_text(p: Xml) -> str | None:
    """The text of a paragraph made of runs of text alone, as _texts reads it; None for any other."""
    pieces = []
    for element in p.iter(*TEXT):
        run = element.getparent()
        if run.tag != W + "r" or run.getparent() is not p:
            return None
        pieces.append(_piece(element))
    return "".join(pieces)


def _piece(text: Xml) -> str:
    """What one of TEXT adds to a paragraph's text: its characters, a tab or a line break."""
    return (text.text or "") if text.tag == W + "t" else "\t" if text.tag == W + "tab" else "\n"


def paragraph_text(p: Xml) -> str:
    """The text a reader sees: runs, tabs and breaks, field results; not deleted or hidden text, nor field codes."""
    return _texts(p, frozenset(), False)[0]


def _on(toggle: Xml | None) -> bool:
    """A w:vanish-like toggle: present and not switched off."""
    return toggle is not None and (toggle.get(W + "val") or "true").lower() not in OFF


def _hidden_run(r: Xml, hiding_styles: frozenset[str], default: bool) -> bool:
    """Whether a run is hidden: its own w:vanish decides, else its character style, else the paragraph's."""
    props = _find(r, W + "rPr")
    if props is not None:
        vanish = _find(props, W + "vanish")
        if vanish is not None:
            return _on(vanish)
        style = _find(props, W + "rStyle")
        if style is not None and style.get(W + "val") in hiding_styles:
            return True
    return default


def _texts(p: Xml, hiding_styles: frozenset[str], hidden_by_style: bool) -> tuple[str, str]:
    """(the text a reader sees, the text formatted as hidden) of one paragraph."""
    shown: list[str] = []
    hidden: list[str] = []

    def walk(element: Xml, out: list[str]) -> None:
        for child in element:
            tag = child.tag
            if tag in SKIPPED:
                continue
            if tag in TEXT:
                out.append(_piece(child))
            elif tag == W + "r":
                walk(child, hidden if _hidden_run(child, hiding_styles, hidden_by_style) else out)
            else:
                walk(child, out)

    walk(p, shown)
    return "".join(shown), "".join(hidden)


def _hiding_styles(styles: Xml) -> frozenset[str]:
    """Ids of the styles that make their text hidden, directly or through the style they are based on."""
    own: dict[str, bool | None] = {}
    based: dict[str, str] = {}
    for style in styles.iter(W + "style"):
        style_id = style.get(W + "styleId") or ""
        vanish = style.find(f"{W}rPr/{W}vanish")
        own[style_id] = None if vanish is None else _on(vanish)
        parent = style.find(W + "basedOn")
        if parent is not None:
            based[style_id] = parent.get(W + "val") or ""

    def hides(style_id: str) -> bool:
        seen: set[str] = set()
        while style_id in own and style_id not in seen:  # `seen`: a basedOn loop ends the walk
            seen.add(style_id)
            if own[style_id] is not None:
                return bool(own[style_id])
            style_id = based.get(style_id, "")
        return False

    return frozenset(s for s in own if hides(s))


def _text_boxes(p: Xml) -> Iterator[Xml]:
    """The text boxes (w:txbxContent) anchored in a paragraph, each once.

    A DrawingML text box comes with a VML copy in mc:Fallback for older readers; the mc:Choice
    copy is read, the Fallback only when the Choice holds none (a VML-only file).
    """

    def walk(element: Xml) -> Iterator[Xml]:
        for child in element:
            if child.tag == W + "txbxContent":
                yield child  # its own nested boxes are found when its paragraphs are read
            elif child.tag == MC + "AlternateContent":
                chosen = [box for choice in child.iterchildren(MC + "Choice") for box in walk(choice)]
                if chosen:
                    yield from chosen
                else:
                    for fallback in child.iterchildren(MC_FALLBACK):
                        yield from walk(fallback)
            elif child.tag != W + "p":  # a nested paragraph is read on its own
                yield from walk(child)

    yield from walk(p)


def _in_text_box(p: Xml, container: Xml) -> bool:
    """Whether a w:p found under `container` stands in a text box (read with its anchor instead)."""
    parent = p.getparent()
    while parent is not None and parent is not container:
        if parent.tag == W + "txbxContent":
            return True
        parent = parent.getparent()
    return False


def _twips(length: Any) -> int | None:
    return None if length is None else round(length.twips)


def _page_setup(section: Any) -> PageSetup:
    size = section._sectPr.find(W + "pgSz")
    orientation = (size.get(W + "orient") if size is not None else None) or "portrait"
    return PageSetup(
        _twips(section.page_width),
        _twips(section.page_height),
        orientation,
        _twips(section.top_margin),
        _twips(section.bottom_margin),
        _twips(section.left_margin),
        _twips(section.right_margin),
    )


def _is_toc(field: Xml) -> bool:
    """A w:instrText or w:fldSimple whose field instruction is TOC."""
    instruction = field.text if field.tag == W + "instrText" else field.get(W + "instr")
    return (instruction or "").strip().upper().startswith("TOC")
