"""Read any .docx as text: paragraphs and tables in reading order, each knowing where it is.

verify and diff work on this view rather than on python-docx objects, so a document edited in
Word (content controls, split runs, tracked insertions, text boxes) reads the same as a
generated one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from opsdoc.contract.findings import Place
from opsdoc.errors import UnusableDocument
from opsdoc.office.package import DOCUMENT, open_package

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MC_FALLBACK = MC + "Fallback"
# Containers whose children are read as if they stood in the parent.
TRANSPARENT = {W + "sdt", W + "sdtContent", W + "customXml"}
# Text that is not part of the paragraph it sits in: deleted text, text boxes (read as paragraphs
# of their own, see _text_boxes), and the fallback copy of drawings.
SKIPPED = {W + "del", W + "txbxContent", MC_FALLBACK, W + "pPr", W + "rPr"}
OFF = ("0", "false", "off")
Xml = Any  # an lxml element (lxml ships no type stubs here)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def _preflight(path: Path) -> None:
    names = open_package(path, DOCUMENT, UnusableDocument)
    if "word/document.xml" not in names:
        what = "Excel 工作簿" if "xl/workbook.xml" in names else "压缩包"
        raise UnusableDocument(path, f"这是{what}，不是 Word 文档（.docx）")


def read_document(path: Path | str) -> WordDocument:
    """Read a .docx; raises UnusableDocument when it is not one or cannot be read."""
    path = Path(path)
    _preflight(path)
    try:
        document = docx.Document(str(path))
        return _Reader(document).read(path)
    except UnusableDocument:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds for a damaged package
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc


class _Reader:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.style_names = {s.style_id: s.name for s in document.styles}
        self.hiding_styles = _hiding_styles(document.styles.element)
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default_style = default.name if default is not None else "Normal"

    def read(self, path: Path) -> WordDocument:
        document = self.document
        body_element = document.element.body
        body = list(self._blocks(body_element))
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
            sections=[_page_setup(s) for s in document.sections],
            defined_styles={s.name for s in document.styles},
            version=document.core_properties.version or "",
            modified=document.core_properties.modified,
            has_toc=_has_toc(body_element),
            imported=list(self._imported(body_element)),
        )

    def _imported(self, body_element: Xml) -> Iterator[tuple[Place, str]]:
        """Each altChunk with the part it imports, placed at the body paragraph before it."""
        rels = self.document.part.rels
        paragraphs = 0
        for element in _children(body_element):
            if element.tag == W + "p":
                paragraphs += 1
            elif element.tag == W + "altChunk":
                rel = rels.get(element.get(R_ID) or "")
                name = "（缺失的部件）"
                if rel is not None:
                    name = rel.target_ref if rel.is_external else str(rel.target_part.partname)
                yield Place(part="body", paragraph=paragraphs or None, excerpt=name), name

    def _style(self, element: Xml, props: str, tag: str) -> str | None:
        node = element.find(f"{W}{props}/{W}{tag}")
        if node is None:
            return None
        style_id = node.get(W + "val")
        return str(self.style_names.get(style_id, style_id))

    def _paragraph(self, p: Xml, part: str, **place: Any) -> Paragraph:
        node = p.find(f"{W}pPr/{W}pStyle")
        style_id = None if node is None else node.get(W + "val")
        style = self.default_style if style_id is None else str(self.style_names.get(style_id, style_id))
        shown, hidden = _texts(p, self.hiding_styles, style_id in self.hiding_styles)
        return Paragraph(shown, style, part, hidden=hidden, **place)

    def _with_text_boxes(self, p: Xml, part: str, **place: Any) -> list[Paragraph]:
        """The paragraph, then the paragraphs of the text boxes anchored in it, located at the anchor."""
        found = [self._paragraph(p, part, **place)]
        if next(p.iter(W + "txbxContent"), None) is None:
            return found  # the common case, found by lxml's own search without walking in Python
        for box in _text_boxes(p):
            for inner in box.iter(W + "p"):
                if not _in_text_box(inner, box):  # a box in the box: read with its own anchor
                    boxed = self._with_text_boxes(inner, part, **place)
                    found += [dataclasses.replace(q, text_box=True) for q in boxed]
        return found

    def _part_paragraphs(self, root: Xml, part: str) -> Iterator[Paragraph]:
        for block in self._blocks(root, part):
            yield from block.paragraphs if isinstance(block, Table) else (block,)

    def _blocks(self, container: Xml, part: str = "body") -> Iterator[Paragraph | Table]:
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
                yield self._table(element, tables, caption, part)

    def _table(self, tbl: Xml, number: int, caption: str, part: str) -> Table:
        rows: list[tuple[str, ...]] = []
        paragraphs, header_rows, in_header = [], 0, True
        for r, tr in enumerate((e for e in _children(tbl) if e.tag == W + "tr"), start=1):
            header = tr.find(f"{W}trPr/{W}tblHeader")
            in_header = in_header and header is not None and header.get(W + "val", "true") not in ("0", "false")
            header_rows += in_header
            cells: list[str] = []
            for tc in (e for e in _children(tr) if e.tag == W + "tc"):
                cell = [
                    q
                    for p in tc.iter(W + "p")
                    if not _in_text_box(p, tc)
                    for q in self._with_text_boxes(p, part, table=number, row=r)
                ]
                paragraphs.extend(cell)
                text = "\n".join(p.text for p in cell if not p.text_box)
                merge = tc.find(f"{W}tcPr/{W}vMerge")
                if merge is not None and merge.get(W + "val", "continue") == "continue" and rows:
                    above = rows[-1]  # a cell merged down: it shows the text of the cell it continues
                    text = above[len(cells)] if len(cells) < len(above) else text
                span = tc.find(f"{W}tcPr/{W}gridSpan")
                width = int(span.get(W + "val", "1")) if span is not None and span.get(W + "val", "").isdigit() else 1
                cells += [text] + [""] * (width - 1)  # one entry per grid column, so columns stay aligned
            rows.append(tuple(cells))
        return Table(
            number, self._style(tbl, "tblPr", "tblStyle"), tuple(rows), header_rows, caption, tuple(paragraphs)
        )


def _children(container: Xml) -> Iterator[Xml]:
    """Child elements, looking through content controls and similar wrappers."""
    for child in container:
        if child.tag in TRANSPARENT:
            yield from _children(child)
        else:
            yield child


def paragraph_text(p: Xml) -> str:
    """The text a reader sees: runs, tabs and breaks, field results; not deleted or hidden text, nor field codes."""
    return _texts(p, frozenset(), False)[0]


def _on(toggle: Xml | None) -> bool:
    """A w:vanish-like toggle: present and not switched off."""
    return toggle is not None and (toggle.get(W + "val") or "true").lower() not in OFF


def _hidden_run(r: Xml, hiding_styles: frozenset[str], default: bool) -> bool:
    """Whether a run is hidden: its own w:vanish decides, else its character style, else the paragraph's."""
    props = r.find(W + "rPr")
    if props is not None:
        vanish = props.find(W + "vanish")
        if vanish is not None:
            return _on(vanish)
        style = props.find(W + "rStyle")
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
            if tag == W + "t":
                out.append(child.text or "")
            elif tag == W + "tab":
                out.append("\t")
            elif tag in (W + "br", W + "cr"):
                out.append("\n")
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


def _has_toc(body: Xml) -> bool:
    for instr in body.iter(W + "instrText"):
        if (instr.text or "").strip().upper().startswith("TOC"):
            return True
    return any((f.get(W + "instr") or "").strip().upper().startswith("TOC") for f in body.iter(W + "fldSimple"))
