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
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from lxml import etree

from opsdoc.contract.tokens import tokens
from opsdoc.contract.vocabulary import CHAPTER_STYLE, CHAPTERS, REVISION_HEADER
from opsdoc.errors import UnusableDocument
from opsdoc.generate.marks import PARTS, restamp
from opsdoc.office.docx_text import W, WordDocument, read_document
from opsdoc.office.output import deterministic_zip
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
    """The 对比稿 of `new` against `old` (both .docx of the company template); raises UnusableDocument."""
    old_doc, new_doc = read_document(old), read_document(new)
    for path, document in ((old, old_doc), (new, new_doc)):
        _refuse_foreign(path, document)
    author, date = _reviser(new, new_doc)
    old_parts, new_parts = _package(old), _package(new)
    for path, parts in ((old, old_parts), (new, new_parts)):
        if any(next(_body(parts).iter(W + tag), None) is not None for tag in TRACKED):
            raise UnusableDocument(path, "文档已含修订标记：请先在 Word 中接受或拒绝全部修订，再生成对比稿")
    for parts in (old_parts, new_parts):
        for root in parts.values():
            restamp(root, MARK)  # both versions, so the mark itself is no tracked change
    marks = _Marks(author, date)
    new_body = _body(new_parts)
    _compare_children(_body(old_parts), new_body, marks)
    _tighten_cover(new_body)
    return Redline(_packed(new, new_parts), marks.count, author, date)


# ---------------------------------------------------------------- refusing what cannot be compared


def _refuse_foreign(path: Path, document: WordDocument) -> None:
    """Only documents of the company template: a 文件版本历史 table and its chapters as Heading 1."""
    chapters = {b.text.strip() for b in document.body_paragraphs() if b.style == CHAPTER_STYLE}
    history = any(t.rows and t.rows[0] and t.rows[0][0].strip() == REVISION_HEADER for t in document.tables)
    if not history or not chapters & set(CHAPTERS):
        raise UnusableDocument(
            path, "不是按公司模板生成的《运维工作管理规范》（缺少文件版本历史表或标准章节），无法生成对比稿"
        )


def _reviser(path: Path, document: WordDocument) -> tuple[str, str]:
    """修订人 and 修订日期 (as w:date) of the last history row: "20261008/周建峰"."""
    table = next(t for t in document.tables if t.rows[0][0].strip() == REVISION_HEADER)
    cell = table.rows[-1][1] if len(table.rows) > 1 and len(table.rows[-1]) > 1 else ""
    found = re.fullmatch(r"\s*([0-9]{4})-?([0-9]{2})-?([0-9]{2})\s*/\s*(.+?)\s*", cell.replace("\n", "/"))
    if not found:
        raise UnusableDocument(path, f"文件版本历史最后一行的“修订日期/修订人”无法识别（{cell!r}），无法确定修订人")
    year, month, day, author = found.groups()
    return author, f"{year}-{month}-{day}T00:00:00Z"


# ---------------------------------------------------------------- the package


def _package(path: Path) -> dict[str, Xml]:
    with zipfile.ZipFile(path) as package:
        names = [n for n in package.namelist() if PARTS.fullmatch(n)]
        return {name: etree.fromstring(package.read(name)) for name in names}


def _body(parts: dict[str, Xml]) -> Xml:
    return parts["word/document.xml"].find(W + "body")


def _packed(source: Path, parts: dict[str, Xml]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(source) as package, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in package.infolist():
            if entry.filename in parts:
                data = etree.tostring(parts[entry.filename], xml_declaration=True, encoding="UTF-8", standalone=True)
            else:
                data = package.read(entry.filename)
            target.writestr(entry.filename, data)
    return deterministic_zip(packed.getvalue())


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


# ---------------------------------------------------------------- comparing


def _compare_children(old: Xml, new: Xml, marks: _Marks) -> None:
    """Mark in `new` (the body or a table cell) every difference of its paragraphs and tables from `old`."""
    olds, news = _blocks(old), _blocks(new)
    end = new.find(W + "sectPr")  # the body's last child; deleted blocks at the end go before it
    for op, i1, i2, j1, j2 in opcodes([_key(b) for b in olds], [_key(b) for b in news]):
        if op == "equal":
            for a, b in zip(olds[i1:i2], news[j1:j2], strict=True):
                if b.tag == W + "tbl":
                    _compare_table(a, b, marks)
            continue
        i, j = i1, j1
        while i < i2 or j < j2:
            if i < i2 and j < j2 and _alike(olds[i], news[j]):
                _compare_pair(olds[i], news[j], marks)
                i, j = i + 1, j + 1
            elif i < i2 and (j == j2 or not any(_alike(olds[i], b) for b in news[j : min(j2, j + LOOKAHEAD)])):
                _place(new, news[j] if j < len(news) else end, _deleted(olds[i], marks))
                i += 1
            else:
                _inserted(news[j], marks)
                j += 1


def _alike(old: Xml, new: Xml) -> bool:
    if old.tag != new.tag:
        return False
    if old.tag == W + "tbl":
        return len(_cells(_rows(old)[0])) == len(_cells(_rows(new)[0])) if _rows(old) and _rows(new) else False
    # the cheap upper bounds first: most pairs in a rewritten stretch are far apart
    matcher = SequenceMatcher(None, _text(old), _text(new), autojunk=False)
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
    for op, i1, i2, j1, j2 in opcodes([_row_key(r) for r in olds], [_row_key(r) for r in news]):
        pairs = i2 - i1 if op == "equal" else 0  # a row whose key changed is another item: deleted and inserted
        for k in range(pairs):
            a, b = olds[i1 + k], news[j1 + k]
            cells_a, cells_b = _cells(a), _cells(b)
            if len(cells_a) == len(cells_b):
                for cell_a, cell_b in zip(cells_a, cells_b, strict=True):
                    _compare_children(cell_a, cell_b, marks)
            else:  # merged differently: the row as a whole
                b.addprevious(_deleted(a, marks))
                _inserted(b, marks)
        for row in olds[i1 + pairs : i2]:
            _place(new, news[j1 + pairs] if j1 + pairs < len(news) else None, _deleted_row(row, news, marks))
        for row in news[j1 + pairs : j2]:
            _inserted(row, marks)


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
