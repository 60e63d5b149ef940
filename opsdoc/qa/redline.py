"""The 对比稿: the new version with every difference from the issued one as Word tracked changes.

Structure-aware, like diff: body blocks are aligned by their text (chapters by their headings),
tables by their first row, table rows by their first cell (编号, 级别 …) and cells one by one,
so a changed P1 response time is a change of that cell's text inside the P1 row, never the
whole table deleted and inserted. Inside a changed paragraph the characters that differ are
marked (w:ins, w:del) and NEW's run formatting is kept; whole rows are tracked row changes.

Accepting every change gives NEW's text, rejecting every change gives OLD's. Author and date
are the 修订人 and 修订日期 of NEW's last history row and ids are numbered in document order,
so the same two versions always give the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from lxml import etree

from opsdoc.contract.tokens import tokens
from opsdoc.contract.vocabulary import CHAPTER_STYLE, CHAPTERS, REVISION_HEADER
from opsdoc.errors import UnusableDocument
from opsdoc.generate.marks import PARTS, restamp
from opsdoc.office.docx_text import TRANSPARENT, W, preflight
from opsdoc.office.output import deflated_tree, deterministic_package
from opsdoc.qa.align import opcodes

Xml = Any  # an lxml element
MARK = "对比稿"
SIMILAR = 0.5  # paragraphs at least this alike are one paragraph edited (as in diff)
# How far ahead among the new blocks of a changed stretch an old block looks for its edited self before it
# counts as deleted: a paragraph moves a few places, not hundreds, and a whole scan of every later block made
# a 对比稿 of 1,500 rewritten paragraphs quadratic (69 s).
LOOKAHEAD = 8
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
TRACKED = ("ins", "del", "moveFrom", "moveTo", "rPrChange", "pPrChange")
# What a paragraph holds besides its runs and properties that does not carry text.
PLAIN_EXTRAS = {W + "pPr", W + "bookmarkStart", W + "bookmarkEnd", W + "proofErr", W + "permStart", W + "permEnd"}
PLAIN_RUN_PARTS = {W + "rPr", W + "t", W + "tab", W + "br", W + "cr", W + "lastRenderedPageBreak"}


@dataclass
class Redline:
    data: bytes  # the 对比稿 .docx
    changes: int  # tracked changes in it; 0 for identical versions
    author: str
    date: str


class _Marks:
    """Tracked-change elements with one author and date, ids numbered in the order they are made."""

    def __init__(self, author: str, date: str) -> None:
        self.author, self.date, self.count = author, date, 0

    def make(self, tag: str) -> Xml:
        self.count += 1
        element = etree.Element(W + tag)
        element.set(W + "id", str(self.count))
        element.set(W + "author", self.author)
        element.set(W + "date", self.date)
        return element


def redline(old: Path, new: Path) -> Redline:
    """The 对比稿 of `new` against `old` (both .docx of the company template); raises UnusableDocument.

    NEW is held whole, as the 对比稿 is NEW marked up. OLD is read twice in passing instead: first what
    aligning and deciding need of each block and of each row of its tables (its text key and a
    signature of what comparing looks at), then, once the plan says which, only the blocks and rows
    that differ from NEW. A 20,000-row register then costs NEW's tree and not OLD's as well.
    """
    preflight(old)
    new_parts = _parts(new)
    new_body = _body(new_parts)
    _refuse_tracked(new, new_body)
    for root in new_parts.values():
        restamp(root, MARK)  # in both versions (OLD's as it is read), so the mark itself is no tracked change
    old_outline = _read_old(old, None)
    _refuse_foreign(old, old_outline.chapters, old_outline.history is not None)
    new_outline = _outline(new, new_body)
    _refuse_foreign(new, new_outline.chapters, new_outline.history is not None)
    author, date = _reviser(new, new_outline.history)
    plan = _Plan()
    plan.body(old_outline.blocks, new_body)
    wanted = plan.wanted()
    fetched = _read_old(old, wanted).fetched if wanted else {}  # identical versions: nothing to read again
    marks = _Marks(author, date)
    plan.carry_out(fetched, marks)
    _tighten_cover(new_body)
    return Redline(_packed(new, new_parts), marks.count, author, date)


# ---------------------------------------------------------------- refusing what cannot be compared


def _refuse_tracked(path: Path, body: Xml) -> None:
    if any(next(body.iter(W + tag), None) is not None for tag in TRACKED):
        raise UnusableDocument(path, "文档已含修订标记：请先在 Word 中接受或拒绝全部修订，再生成对比稿")


def _refuse_foreign(path: Path, chapters: set[str], history: bool) -> None:
    """Only documents of the company template: a 文件版本历史 table and its chapters as Heading 1."""
    if not history or not chapters & set(CHAPTERS):
        raise UnusableDocument(
            path, "不是按公司模板生成的《运维工作管理规范》（缺少文件版本历史表或标准章节），无法生成对比稿"
        )


def _reviser(path: Path, history: list[str] | None) -> tuple[str, str]:
    """修订人 and 修订日期 (as w:date) of the last history row: "20261008/周建峰"."""
    cell = history[1] if history and len(history) > 1 else ""
    found = re.fullmatch(r"\s*([0-9]{4})-?([0-9]{2})-?([0-9]{2})\s*/\s*(.+?)\s*", cell.replace("\n", "/"))
    if not found:
        raise UnusableDocument(path, f"文件版本历史最后一行的“修订日期/修订人”无法识别（{cell!r}），无法确定修订人")
    year, month, day, author = found.groups()
    return author, f"{year}-{month}-{day}T00:00:00Z"


@dataclass
class _Outline:
    """What the refusals and the author need of a document, and (of OLD) its blocks as read in passing."""

    chapters: set[str]  # the texts of its Heading 1 paragraphs
    history: list[str] | None  # the cell texts of the 文件版本历史 table's last row; None: no such table
    blocks: list[_Light]
    fetched: dict[tuple[int, ...], Xml]  # OLD's blocks (index,) and rows (index, row) asked for


def _outline(path: Path, body: Xml) -> _Outline:
    """NEW's outline, from its tree: read as OLD's is (through content controls, as read_document does)."""
    styles = _style_names(path)
    chapters = {_text(p).strip() for p in body.iter(W + "p") if _at_body_level(p) and _is_chapter(p, styles)}
    history = None
    for table in (t for t in body.iter(W + "tbl") if _at_body_level(t)):
        rows = _rows(table)
        if rows and _first_cell(rows[0]) == REVISION_HEADER:
            history = _last_row_texts(rows) if len(rows) > 1 else []
            break
    return _Outline(chapters, history, [], {})


def _at_body_level(element: Xml) -> bool:
    """In the body itself, or only inside content controls and custom XML there (as read_document sees it)."""
    parent = element.getparent()
    while parent is not None and parent.tag in TRANSPARENT:
        parent = parent.getparent()
    return parent is not None and parent.tag == W + "body"


def _last_row_texts(rows: list[Xml]) -> list[str]:
    """The cell texts of a table's last row, a cell merged with the one above (vMerge) read from above."""

    def by_column(row: Xml) -> dict[int, Xml]:
        cells, column = {}, 0
        for cell in _cells(row):
            cells[column] = cell
            span = cell.find(f"{W}tcPr/{W}gridSpan")
            column += int(span.get(W + "val") or 1) if span is not None and (span.get(W + "val") or "").isdigit() else 1
        return cells

    texts = []
    for column, cell in by_column(rows[-1]).items():
        for above in reversed(rows[:-1]):
            merge = cell.find(f"{W}tcPr/{W}vMerge")
            if merge is None or merge.get(W + "val") == "restart" or column not in by_column(above):
                break
            cell = by_column(above)[column]
        texts.append(_text(cell))
    return texts


def _style_names(path: Path) -> dict[str, str]:
    """Paragraph style ids → names, as styles.xml gives them; raises UnusableDocument for a damaged one."""
    try:
        with zipfile.ZipFile(path) as package:
            if "word/styles.xml" not in package.namelist():
                return {}
            root = etree.fromstring(package.read("word/styles.xml"))
    except Exception as exc:  # lxml and zipfile raise many kinds for a damaged package
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc
    names = {}
    for style in root.iter(W + "style"):
        name = style.find(W + "name")
        if name is not None:
            names[style.get(W + "styleId") or ""] = name.get(W + "val") or ""
    return names


def _is_chapter(p: Xml, styles: dict[str, str]) -> bool:
    style = p.find(f"{W}pPr/{W}pStyle")
    style_id = style.get(W + "val") if style is not None else None
    return style_id is not None and styles.get(style_id, style_id).lower() == CHAPTER_STYLE.lower()


def _first_cell(row: Xml) -> str:
    cells = _cells(row)
    return _text(cells[0]).strip() if cells else ""


# ---------------------------------------------------------------- OLD, read in passing


@dataclass
class _Light:
    """A block of OLD, or a row of one of its tables, without its XML."""

    key: Any  # a block's (kind, text), or a row's first cell
    signature: bytes  # of everything comparing looks at: equal signatures give no tracked change
    cells: int  # a row's cells (a table's: its first row's)
    rows: list[_Light] | None = None  # a table's rows


_SIGNED = {
    W + "sdt": "S",
    W + "sdtContent": "C",
    W + "customXml": "X",
    W + "tc": "c",
    W + "p": "p",
    W + "tbl": "T",
    W + "tr": "r",
    W + "t": "t",
    W + "tab": "\t",
    W + "br": "b",
    W + "cr": "n",
}


def _signature(element: Xml) -> bytes:
    """A digest of the element's text and shape (cells, paragraphs and their styles, nested tables, breaks):
    what _compare_children, _compare_table and _compare_paragraph look at, and a little more."""
    parts: list[str] = []
    for event, node in etree.iterwalk(element, events=("start", "end"), tag=tuple(_SIGNED)):
        if event == "end":
            parts.append(")")
            continue
        tag = node.tag
        if tag == W + "t":
            parts.append("t" + (node.text or ""))
        elif tag == W + "p":
            style = node.find(f"{W}pPr/{W}pStyle")
            parts.append("p" + ((style.get(W + "val") or "") if style is not None else ""))
        elif tag == W + "br":
            parts.append("b" + (node.get(W + "type") or ""))
        else:
            parts.append(_SIGNED[tag])
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).digest()


def _read_old(path: Path, wanted: set[tuple[int, ...]] | None) -> _Outline:
    """OLD's body read in passing, each block and top-level table row let go once seen. With `wanted`
    None: its outline and its blocks, light. Else: the blocks (index,) and rows (index, row) wanted, whole.

    Each is restamped as it is read, as NEW is; TOC entries are no blocks (as in _blocks). The package
    is one preflight checked already."""
    outline = _Outline(set(), None, [], {})
    rows: list[_Light] = []
    first_row = ""
    watched = (W + "p", W + "tr", W + "tbl", *(W + tag for tag in TRACKED))
    try:
        styles = _style_names(path) if wanted is None else {}  # the outline is the first reading's
        with zipfile.ZipFile(path) as package, package.open("word/document.xml") as stream:
            for _event, element in etree.iterparse(stream, events=("end",), tag=watched):
                if element.tag not in (W + "p", W + "tr", W + "tbl"):
                    _refuse_tracked(path, element.getparent())
                parent = element.getparent()
                index = len(outline.blocks)  # of the block being read
                if element.tag == W + "tr" and parent.getparent().tag == W + "body":
                    restamp(element, MARK)
                    number = len(rows)
                    if number == 0:
                        first_row = _text(element)
                        if _first_cell(element) == REVISION_HEADER:
                            outline.history = []
                    signature = _signature(element) if wanted is None else b""  # the plan has them already
                    rows.append(_Light(_first_cell(element), signature, len(_cells(element))))
                    if wanted is not None and ((index, number) in wanted or (index,) in wanted):
                        outline.fetched[(index, number)] = element
                    else:
                        _let_go(element)
                    continue
                if parent.tag != W + "body" or (element.tag == W + "p" and _toc_entry(element)):
                    if element.tag != W + "tr" and parent.tag in TRANSPARENT and _at_body_level(element):
                        _wrapped(element, styles, outline)  # in a content control: outline only, as before
                    continue  # in a cell (read with its row), or a TOC entry (no block)
                if element.tag == W + "tbl":
                    light = _Light(("table", first_row), b"", rows[0].cells if rows else 0, rows)
                    rows, first_row = [], ""
                else:
                    restamp(element, MARK)
                    if _is_chapter(element, styles):
                        outline.chapters.add(_text(element).strip())
                    light = _Light(("p", _text(element)), b"", 0)
                outline.blocks.append(light)
                if wanted is not None and (index,) in wanted:
                    outline.fetched[(index,)] = element
                else:
                    _let_go(element)
    except UnusableDocument:
        raise
    except Exception as exc:  # lxml and zipfile raise many kinds for a damaged package
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc
    return outline


def _wrapped(element: Xml, styles: dict[str, str], outline: _Outline) -> None:
    """A paragraph or table inside a content control at body level: no block to compare (as _blocks has
    it), but a chapter or the 文件版本历史 table all the same."""
    if element.tag == W + "p" and _is_chapter(element, styles):
        outline.chapters.add(_text(element).strip())
    elif element.tag == W + "tbl" and _rows(element) and _first_cell(_rows(element)[0]) == REVISION_HEADER:
        outline.history = []


def _let_go(element: Xml) -> None:
    """Free what was read: the element's content, and its siblings read before it (any kept is held
    by the outline, and stays whole once taken out of the tree)."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


# ---------------------------------------------------------------- the package


def _parts(path: Path) -> dict[str, Xml]:
    """NEW's body, headers and footers, parsed: what the 对比稿 changes of it."""
    preflight(path)
    try:
        with zipfile.ZipFile(path) as package:
            names = [n for n in package.namelist() if PARTS.fullmatch(n)]
            return {name: _parsed(package, name) for name in names}
    except Exception as exc:  # lxml and zipfile raise many kinds for a damaged package
        raise UnusableDocument(path, f"Word 文档已损坏，无法读取（{type(exc).__name__}）") from exc


def _parsed(package: zipfile.ZipFile, name: str) -> Xml:
    with package.open(name) as stream:  # parsed as it is inflated: never the whole text and its tree at once
        return etree.parse(stream).getroot()


def _body(parts: dict[str, Xml]) -> Xml:
    return parts["word/document.xml"].find(W + "body")


def _packed(source: Path, parts: dict[str, Xml]) -> bytes:
    """NEW's package with its changed parts, each serialized straight into its compressed form."""
    with zipfile.ZipFile(source) as package:
        return deterministic_package(
            (entry.filename, deflated_tree(parts[entry.filename]) if entry.filename in parts else package.read(entry))
            for entry in package.infolist()
        )


def _tighten_cover(body: Xml) -> None:
    """Half the cover's own spacing: a changed date is shown twice (struck through and new), and the
    cover must still fit its one page."""
    blocks = list(body)
    ends = [i for i, block in enumerate(blocks) if block.find(f"{W}pPr/{W}sectPr") is not None]
    if not ends:  # a template without a section of its own for the cover: nothing to tighten
        return
    for block in blocks[: ends[0] + 1]:
        for spacing in block.iter(W + "spacing"):
            for side in ("before", "after"):
                value = spacing.get(W + side)
                if value and value.isdigit():
                    spacing.set(W + side, str(int(value) // 2))


# ---------------------------------------------------------------- text


def _text(element: Xml) -> str:
    """The text of a paragraph, row or table as a reader sees it (tabs and breaks included)."""
    out: list[str] = []
    for node in element.iter(W + "t", W + "tab", W + "br", W + "cr", W + "p"):
        if node.tag == W + "t":
            out.append(node.text or "")
        elif node.tag == W + "tab":
            out.append("\t")
        elif node.tag == W + "p":
            out.append("\n") if out else None
        elif node.get(W + "type") != "page":  # LibreOffice writes pageBreakBefore as a page break: not text
            out.append("\n")
    return "".join(out)


def _blocks(container: Xml) -> list[Xml]:
    """Paragraphs and tables, without the TOC: a field result, rewritten whenever the TOC updates (as in diff).

    NEW's TOC stays as it is, untracked; content controls (w:sdt, LibreOffice's TOC) are left alone too.
    """
    return [c for c in container if c.tag == W + "tbl" or (c.tag == W + "p" and not _toc_entry(c))]


def _toc_entry(p: Xml) -> bool:
    style = p.find(f"{W}pPr/{W}pStyle")
    return style is not None and (style.get(W + "val") or "").lower().startswith(("toc", "contents"))


def _rows(table: Xml) -> list[Xml]:
    return [c for c in table if c.tag == W + "tr"]


def _cells(row: Xml) -> list[Xml]:
    return [c for c in row if c.tag == W + "tc"]


def _key(block: Xml) -> tuple[str, str]:
    if block.tag == W + "tbl":
        rows = _rows(block)
        return ("table", _text(rows[0]) if rows else "")
    return ("p", _text(block))


def _row_key(row: Xml) -> str:
    cells = _cells(row)
    return _text(cells[0]).strip() if cells else ""


# ---------------------------------------------------------------- the body and its tables, planned


class _Plan:
    """What to do to NEW, decided on OLD's light blocks and rows by the steps _compare_children and
    _compare_table take (so tracked-change ids come out as they would): then OLD's blocks and rows
    the steps name are read, and the steps carried out. Rows whose signatures agree need nothing."""

    def __init__(self) -> None:
        self.steps: list[tuple[Any, ...]] = []

    def body(self, olds: list[_Light], new: Xml) -> None:
        end = new.find(W + "sectPr")  # the body's last child; deleted blocks at the end go before it
        for step, i, b in _block_steps(olds, [b.key for b in olds], _blocks(new), _light_alike):
            if step == "same":
                if b.tag == W + "tbl":
                    self.table(i, olds[i], b)
            elif step == "pair":
                self.steps.append(("pair", (i,), b))
            elif step == "delete":
                self.steps.append(("delete", (i,), new, end if b is None else b))
            else:
                self.steps.append(("insert", b))

    def table(self, index: int, old: _Light, new: Xml) -> None:
        """As _compare_table, with OLD's rows light: a pair of rows alike in every text needs nothing."""
        olds, news = old.rows or [], _rows(new)
        for step, i, row in _row_steps([r.key for r in olds], news):
            if step == "pair":
                if olds[i].signature != _signature(row):
                    self.steps.append(("rows", (index, i), row))
            elif step == "delete":
                self.steps.append(("delete row", (index, i), new, row, news))
            else:
                self.steps.append(("insert", row))

    def wanted(self) -> set[tuple[int, ...]]:
        return {step[1] for step in self.steps if step[0] != "insert"}

    def carry_out(self, fetched: dict[tuple[int, ...], Xml], marks: _Marks) -> None:
        for step in self.steps:
            kind = step[0]
            if kind == "insert":
                _inserted(step[1], marks)
            elif kind == "pair":
                _compare_pair(fetched[step[1]], step[2], marks)
            elif kind == "delete":
                _place(step[2], step[3], _deleted(fetched[step[1]], marks))
            elif kind == "rows":
                _compare_rows(fetched[step[1]], step[2], marks)
            else:
                _place(step[2], step[3], _deleted_row(fetched[step[1]], step[4], marks))


def _light_alike(old: _Light, new: Xml, matchers: dict[str, SequenceMatcher[str]]) -> bool:
    """_alike, of a light block of OLD."""
    kind, text = old.key
    if (kind == "table") != (new.tag == W + "tbl"):
        return False
    if kind == "table":
        return bool(old.rows) and bool(_rows(new)) and old.cells == len(_cells(_rows(new)[0]))
    return _similar(text, _text(new), matchers)


# ---------------------------------------------------------------- comparing


def _block_steps(
    olds: Sequence[Any],
    old_keys: list[tuple[str, str]],
    news: list[Xml],
    alike: Callable[[Any, Xml, dict[str, SequenceMatcher[str]]], bool],
) -> Iterator[tuple[str, int, Xml]]:
    """How the blocks `news` follow from `olds` (blocks, or light ones) and their keys, in document order:
    ("same", i, block) where the keys agree, ("pair", i, block) for blocks alike enough to compare,
    ("delete", i, the block it goes before, None past the last) and ("insert", -1, block). Lazy: a step
    is decided once the one before it has been carried out."""
    for op, i1, i2, j1, j2 in opcodes(old_keys, [_key(b) for b in news]):
        if op == "equal":
            for i, b in zip(range(i1, i2), news[j1:j2], strict=True):
                yield "same", i, b
            continue
        i, j = i1, j1
        matchers: dict[str, SequenceMatcher[str]] = {}
        while i < i2 or j < j2:
            if i < i2 and j < j2 and alike(olds[i], news[j], matchers):
                yield "pair", i, news[j]
                i, j = i + 1, j + 1
            elif (
                i < i2
                and (  # news[j] was just tried
                    j == j2 or not any(alike(olds[i], b, matchers) for b in news[j + 1 : min(j2, j + LOOKAHEAD)])
                )
            ):
                yield "delete", i, news[j] if j < len(news) else None
                i += 1
            else:
                yield "insert", -1, news[j]
                j += 1


def _row_steps(old_keys: list[str], news: list[Xml]) -> Iterator[tuple[str, int, Xml]]:
    """As _block_steps for a table's rows, matched by key alone: a row whose key changed is another item,
    deleted and inserted."""
    for op, i1, i2, j1, j2 in opcodes(old_keys, [_row_key(r) for r in news]):
        pairs = i2 - i1 if op == "equal" else 0
        for k in range(pairs):
            yield "pair", i1 + k, news[j1 + k]
        before = news[j1 + pairs] if j1 + pairs < len(news) else None
        for i in range(i1 + pairs, i2):
            yield "delete", i, before
        for row in news[j1 + pairs : j2]:
            yield "insert", -1, row


def _compare_children(old: Xml, new: Xml, marks: _Marks) -> None:
    """Mark in `new` (the body or a table cell) every difference of its paragraphs and tables from `old`."""
    olds = _blocks(old)
    end = new.find(W + "sectPr")  # the body's last child; deleted blocks at the end go before it
    for step, i, b in _block_steps(olds, [_key(b) for b in olds], _blocks(new), _alike):
        if step == "same":
            if b.tag == W + "tbl":
                _compare_table(olds[i], b, marks)
        elif step == "pair":
            _compare_pair(olds[i], b, marks)
        elif step == "delete":
            _place(new, end if b is None else b, _deleted(olds[i], marks))
        else:
            _inserted(b, marks)


def _alike(old: Xml, new: Xml, matchers: dict[str, SequenceMatcher[str]]) -> bool:
    if old.tag != new.tag:
        return False
    if old.tag == W + "tbl":
        return len(_cells(_rows(old)[0])) == len(_cells(_rows(new)[0])) if _rows(old) and _rows(new) else False
    return _similar(_text(old), _text(new), matchers)


def _similar(old: str, new: str, matchers: dict[str, SequenceMatcher[str]]) -> bool:
    """Whether `new` is `old` edited. Within a changed stretch each NEW paragraph is tried against
    several OLD ones: its matcher (the index of its characters) is made once, in `matchers`."""
    matcher = matchers.get(new)
    if matcher is None:
        matcher = matchers[new] = SequenceMatcher(None, "", new, autojunk=False)
    matcher.set_seq1(old)
    # the cheap upper bounds first: most pairs in a rewritten stretch are far apart
    return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


def _compare_pair(old: Xml, new: Xml, marks: _Marks) -> None:
    if new.tag == W + "tbl":
        _compare_table(old, new, marks)
    else:
        _compare_paragraph(old, new, marks)


def _place(container: Xml, before: Xml | None, element: Xml) -> None:
    if before is None:
        container.append(element)
    else:
        before.addprevious(element)


def _compare_table(old: Xml, new: Xml, marks: _Marks) -> None:
    """Rows matched by their first cell; a matched row's cells compared one by one."""
    olds, news = _rows(old), _rows(new)
    for step, i, row in _row_steps([_row_key(r) for r in olds], news):
        if step == "pair":
            _compare_rows(olds[i], row, marks)
        elif step == "delete":
            _place(new, row, _deleted_row(olds[i], news, marks))
        else:
            _inserted(row, marks)


def _compare_rows(old: Xml, new: Xml, marks: _Marks) -> None:
    """Two rows of one item: cell by cell, or (merged differently) the row as a whole."""
    cells_old, cells_new = _cells(old), _cells(new)
    if len(cells_old) == len(cells_new):
        for cell_old, cell_new in zip(cells_old, cells_new, strict=True):
            _compare_children(cell_old, cell_new, marks)
    else:
        new.addprevious(_deleted(old, marks))
        _inserted(new, marks)


def _compare_paragraph(old: Xml, new: Xml, marks: _Marks) -> None:
    """The characters that differ, marked; NEW's runs keep their formatting."""
    if _text(old) == _text(new):
        return
    old_chars, new_chars = list(_characters(old)), list(_characters(new))
    if not _plain(old) or not _plain(new):  # fields, drawings, hyperlinks: the paragraph's text as a whole
        runs = [c for c in new if c.tag != W + "pPr"]
        gone = _deleted_runs(old, marks)
        for run in runs:
            _wrap(run, marks.make("ins"))
        if runs:
            runs[0].addprevious(gone)
        else:
            new.append(gone)
        return
    # Compared token by token (opsdoc.contract.tokens): a date, a version or a number with its unit changes whole.
    old_tokens, new_tokens = (tokens("".join(c for c, _ in chars)) for chars in (old_chars, new_chars))
    old_at, new_at = _starts(old_tokens), _starts(new_tokens)
    matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    pieces: list[tuple[str, Xml | None, str]] = []  # (kind, run properties, text)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            pieces += [("del", props, char) for char, props in old_chars[old_at[i1] : old_at[i2]]]
        if op in ("insert", "replace"):
            pieces += [("ins", props, char) for char, props in new_chars[new_at[j1] : new_at[j2]]]
        if op == "equal":
            pieces += [("equal", props, char) for char, props in new_chars[new_at[j1] : new_at[j2]]]
    runs = [c for c in new if c.tag == W + "r"]
    anchor = etree.Element(W + "r")
    runs[0].addprevious(anchor) if runs else new.append(anchor)
    for run in runs:
        new.remove(run)
    for kind, props, text in _grouped(pieces):
        run = _run(props, text, deleted=kind == "del")
        if kind != "equal":
            run = _wrap(run, marks.make(kind))
        anchor.addprevious(run)
    new.remove(anchor)


def _starts(cut: list[str]) -> list[int]:
    """Where each token starts in the text, and the text's end: token index → character index."""
    starts = [0]
    for token in cut:
        starts.append(starts[-1] + len(token))
    return starts


def _plain(p: Xml) -> bool:
    """Runs of text, tabs and line breaks only: what the character comparison can rebuild exactly."""
    return all(
        c.tag in PLAIN_EXTRAS
        or (c.tag == W + "r" and all(part.tag in PLAIN_RUN_PARTS and part.get(W + "type") != "page" for part in c))
        for c in p
    )


def _characters(p: Xml) -> Iterator[tuple[str, Xml | None]]:
    for run in p.iter(W + "r"):
        props = run.find(W + "rPr")
        for part in run:
            if part.tag == W + "t":
                yield from ((char, props) for char in part.text or "")
            elif part.tag == W + "tab":
                yield "\t", props
            elif part.tag in (W + "br", W + "cr"):
                yield "\n", props


def _grouped(pieces: list[tuple[str, Xml | None, str]]) -> Iterator[tuple[str, Xml | None, str]]:
    """Consecutive characters of one kind and one formatting as one run."""
    current: tuple[str, Xml | None, bytes] | None = None
    text: list[str] = []
    for kind, props, char in pieces:
        key = (kind, props, etree.tostring(props) if props is not None else b"")
        if current is None or (current[0], current[2]) != (key[0], key[2]):
            if current is not None:
                yield current[0], current[1], "".join(text)
            current, text = key, []
        text.append(char)
    if current is not None:
        yield current[0], current[1], "".join(text)


def _run(props: Xml | None, text: str, *, deleted: bool) -> Xml:
    run = etree.Element(W + "r")
    if props is not None:
        run.append(copy.deepcopy(props))
    for piece in re.split(r"([\t\n])", text):
        if piece == "\t":
            etree.SubElement(run, W + "tab")
        elif piece == "\n":
            etree.SubElement(run, W + "br")
        elif piece:
            node = etree.SubElement(run, W + ("delText" if deleted else "t"))
            node.text = piece
            node.set(XML_SPACE, "preserve")
    return run


def _wrap(element: Xml, mark: Xml) -> Xml:
    if element.getparent() is not None:
        element.addprevious(mark)
    mark.append(element)
    return mark


# ---------------------------------------------------------------- whole blocks inserted or deleted


def _paragraph_mark(p: Xml, mark: Xml) -> None:
    """Track the paragraph mark itself, so accepting or rejecting removes the paragraph, not only its text."""
    props = p.find(W + "pPr")
    if props is None:
        props = etree.Element(W + "pPr")
        p.insert(0, props)
    run_props = props.find(W + "rPr")
    if run_props is None:
        run_props = etree.Element(W + "rPr")
        later = [c for c in props if c.tag in (W + "sectPr", W + "pPrChange")]
        later[0].addprevious(run_props) if later else props.append(run_props)
    run_props.insert(0, mark)


def _row_mark(row: Xml, mark: Xml) -> None:
    props = row.find(W + "trPr")
    if props is None:
        props = etree.Element(W + "trPr")
        before = row.find(W + "tblPrEx")
        before.addnext(props) if before is not None else row.insert(0, props)
    props.append(mark)


def _inserted(block: Xml, marks: _Marks) -> None:
    """A paragraph, row or table of NEW only: everything in it tracked as inserted."""
    for row in [block] if block.tag == W + "tr" else block.iter(W + "tr"):
        _row_mark(row, marks.make("ins"))
    for p in [block] if block.tag == W + "p" else list(block.iter(W + "p")):
        for child in [c for c in p if c.tag != W + "pPr"]:
            _wrap(child, marks.make("ins"))
        if block.tag == W + "p":  # in an inserted row or table, the row change carries the paragraphs
            _paragraph_mark(p, marks.make("ins"))


def _deleted(block: Xml, marks: _Marks) -> Xml:
    """A copy of a paragraph, row or table of OLD only, everything in it tracked as deleted."""
    block = copy.deepcopy(block)
    for row in [block] if block.tag == W + "tr" else block.iter(W + "tr"):
        _row_mark(row, marks.make("del"))
    for p in [block] if block.tag == W + "p" else list(block.iter(W + "p")):
        for child in [c for c in p if c.tag != W + "pPr"]:
            _as_deleted_text(child)
            _wrap(child, marks.make("del"))
        if block.tag == W + "p":  # in a deleted row or table, the row change removes the paragraphs
            _paragraph_mark(p, marks.make("del"))
    return block


def _deleted_row(old: Xml, news: list[Xml], marks: _Marks) -> Xml:
    """A deleted row dressed as NEW's rows: OLD's cell texts in a copy of NEW's last body row.

    OLD's own row XML may come from another application (LibreOffice renames styles and
    rewrites rows): copied into NEW it can make LibreOffice drop the whole table.
    """
    old_cells = _cells(old)
    skeleton = next((r for r in reversed(news) if len(_cells(r)) == len(old_cells)), None)
    if skeleton is None:
        return _deleted(old, marks)
    row = copy.deepcopy(skeleton)
    for props in row.findall(W + "trPr"):
        for tracked in props.findall(W + "ins") + props.findall(W + "del"):
            props.remove(tracked)
    for cell, old_cell in zip(_cells(row), old_cells, strict=True):
        paragraphs = [c for c in cell if c.tag == W + "p"]
        first = paragraphs[0] if paragraphs else etree.SubElement(cell, W + "p")
        props = first.find(W + "pPr")
        run = first.find(f".//{W}r")
        run_props = run.find(W + "rPr") if run is not None else None
        for child in [c for c in cell if c.tag in (W + "p", W + "tbl")]:
            cell.remove(child)
        for old_p in (c for c in old_cell if c.tag == W + "p"):
            p = etree.SubElement(cell, W + "p")
            if props is not None:
                p.append(copy.deepcopy(props))
            text = _text(old_p)
            if text:
                p.append(_run(run_props, text, deleted=True))
        if not [c for c in cell if c.tag == W + "p"]:
            etree.SubElement(cell, W + "p")
    return _deleted(row, marks)


def _deleted_runs(p: Xml, marks: _Marks) -> Xml:
    gone = marks.make("del")
    for child in p:
        if child.tag != W + "pPr":
            copied = copy.deepcopy(child)
            _as_deleted_text(copied)
            gone.append(copied)
    return gone


def _as_deleted_text(element: Xml) -> None:
    for node in element.iter(W + "t", W + "instrText"):
        node.tag = W + ("delText" if node.tag == W + "t" else "delInstrText")
