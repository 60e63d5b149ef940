"""Read any .docx as text: paragraphs and tables in reading order, each knowing where it is.

verify and diff work on this view rather than on python-docx objects, so a document edited in
Word (content controls, split runs, tracked insertions, text boxes) reads the same as a
generated one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from opsdoc.contract.findings import Place
from opsdoc.errors import UnusableDocument
from opsdoc.office.package import DOCUMENT, open_package

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Containers whose children are read as if they stood in the parent.
TRANSPARENT = {W + "sdt", W + "sdtContent", W + "customXml"}
# Text that is not part of the paragraph it sits in: deleted text, text boxes (own paragraphs),
# and the fallback copy of drawings.
SKIPPED = {W + "del", W + "txbxContent", MC_FALLBACK, W + "pPr", W + "rPr"}


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: str
    part: str  # "body", "header" or "footer"
    index: int | None = None  # 1-based among the part's paragraphs outside tables
    table: int | None = None  # 1-based table number, for a paragraph in a table cell
    row: int | None = None

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
    rows: tuple[tuple[str, ...], ...]  # cell texts, a cell's paragraphs joined by "\n"
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
    def __init__(self, document):
        self.document = document
        self.style_names = {s.style_id: s.name for s in document.styles}
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default_style = default.name if default is not None else "Normal"

    def read(self, path: Path) -> WordDocument:
        document = self.document
        body_element = document.element.body
        body = list(self._blocks(body_element))
        headers, footers = [], []
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
        )

    def _style(self, element, props: str, tag: str) -> str | None:
        node = element.find(f"{W}{props}/{W}{tag}")
        if node is None:
            return None
        style_id = node.get(W + "val")
        return self.style_names.get(style_id, style_id)

    def _paragraph(self, p, part: str, **place) -> Paragraph:
        style = self._style(p, "pPr", "pStyle") or self.default_style
        return Paragraph(paragraph_text(p), style, part, **place)

    def _part_paragraphs(self, root, part: str) -> Iterator[Paragraph]:
        for block in self._blocks(root, part):
            yield from block.paragraphs if isinstance(block, Table) else (block,)

    def _blocks(self, container, part: str = "body") -> Iterator[Paragraph | Table]:
        paragraphs = tables = 0
        caption = ""
        for element in _children(container):
            if element.tag == W + "p":
                paragraphs += 1
                paragraph = self._paragraph(element, part, index=paragraphs)
                if paragraph.text.strip():
                    caption = paragraph.text
                yield paragraph
            elif element.tag == W + "tbl":
                tables += 1
                yield self._table(element, tables, caption, part)

    def _table(self, tbl, number: int, caption: str, part: str) -> Table:
        rows, paragraphs, header_rows, in_header = [], [], 0, True
        for r, tr in enumerate((e for e in _children(tbl) if e.tag == W + "tr"), start=1):
            header = tr.find(f"{W}trPr/{W}tblHeader")
            in_header = in_header and header is not None and header.get(W + "val", "true") not in ("0", "false")
            header_rows += in_header
            cells = []
            for tc in (e for e in _children(tr) if e.tag == W + "tc"):
                cell = [self._paragraph(p, part, table=number, row=r) for p in tc.iter(W + "p")]
                paragraphs.extend(cell)
                cells.append("\n".join(p.text for p in cell))
            rows.append(tuple(cells))
        return Table(
            number, self._style(tbl, "tblPr", "tblStyle"), tuple(rows), header_rows, caption, tuple(paragraphs)
        )


def _children(container) -> Iterator:
    """Child elements, looking through content controls and similar wrappers."""
    for child in container:
        if child.tag in TRANSPARENT:
            yield from _children(child)
        else:
            yield child


def paragraph_text(p) -> str:
    """The text a reader sees: runs, tabs and breaks, field results; not deleted text or field codes."""
    parts: list[str] = []

    def walk(element) -> None:
        for child in element:
            tag = child.tag
            if tag in SKIPPED:
                continue
            if tag == W + "t":
                parts.append(child.text or "")
            elif tag == W + "tab":
                parts.append("\t")
            elif tag in (W + "br", W + "cr"):
                parts.append("\n")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


def _twips(length) -> int | None:
    return None if length is None else round(length.twips)


def _page_setup(section) -> PageSetup:
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


def _has_toc(body) -> bool:
    for instr in body.iter(W + "instrText"):
        if (instr.text or "").strip().upper().startswith("TOC"):
            return True
    return any((f.get(W + "instr") or "").strip().upper().startswith("TOC") for f in body.iter(W + "fldSimple"))
