"""Compare two versions of a document chapter by chapter, in the words a 修订说明 needs.

Parts are the cover, the 文件版本历史 page and each Heading 1 chapter (matched by title); the
目录 page is left out, since it only follows the headings. Table rows are matched by their
first cell (服务目录 编号, SLA 级别, 风险编号 …), so an edited row is one change, named by its
key and the headers of the columns that differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from opsdoc.contract.model import SHEETS
from opsdoc.contract.tokens import tokens, widened
from opsdoc.contract.vocabulary import CHAPTER_STYLE, CONTENTS, COVER, HISTORY, SECTION_STYLE, Change
from opsdoc.office.docx_text import Table, WordDocument, read_document
from opsdoc.qa.align import opcodes

SIMILAR = 0.5  # paragraphs at least this alike are one paragraph edited, not one removed and one added
UNIT = re.compile(r"[（(]([^）)]*)[）)]$")  # "响应时间（分钟）" is named 响应时间, its values are in 分钟
# The column that names a row beside its key (服务目录's 服务项, 服务工具's 工具名称): from the contract.
NAME_COLUMNS = frozenset(
    c.label for s in SHEETS if s.is_table for c in s.columns[1:] if c.key in ("item", "name") and c.label
)
# What changes in every revision and so says nothing in 修订说明: the cover's version and date.
# What the cover says about the release itself: new in every version, never worth a 修订说明 line.
ROUTINE = frozenset({"版本号", "生效日期", "编制", "审核", "批准", "发布日期", "实施日期"})
LISTED = 3  # items a summary names before it says "等N项"
EXCERPT = 20  # characters of a value or an edited passage a summary quotes


@dataclass(frozen=True)
class ParagraphChange:
    change: Change
    section: str  # the Heading 2 it stands under; "" before the first
    old: str | None
    new: str | None

    @property
    def label(self) -> str | None:
        """ "版本号" for "版本号：V2.0" → "版本号：V2.1": a labelled value whose label stayed."""
        old, new = (re.split("[:：]", t or "", maxsplit=1) for t in (self.old, self.new))
        return old[0] if len(old) == 2 and len(new) == 2 and old[0] == new[0] and len(old[0]) <= 12 else None


@dataclass(frozen=True)
class RowChange:
    change: Change
    key: str  # the row's first cell
    columns: tuple[str, ...]  # headers of the changed cells (empty for a table without header row)
    old: tuple[str, ...] | None
    new: tuple[str, ...] | None


@dataclass
class TableDiff:
    name: str  # its caption ("验收标准："), else its Heading 2, else the part's name
    rows: list[RowChange]
    header: tuple[str, ...] = ()  # column names; empty for a table without header row
    units: tuple[str, ...] = ()  # each column's unit from its header ("响应时间（分钟）" → "分钟"), else ""

    def item(self, row: RowChange) -> str:
        """A row as the summary names it: its key and, where the table has one, its name (SC-13等保测评配合)."""
        cells = row.new or row.old or ()
        names = [i for i, column in enumerate(self.header) if column in NAME_COLUMNS and i < len(cells)]
        return row.key + (f"“{_short(cells[names[0]])}”" if names else "")  # SC-05“PACS/LIS应用支持”


@dataclass
class PartDiff:
    label: str  # "封面", "文件版本历史" or "第4章"
    title: str  # the chapter title; "" for the front matter
    status: Change
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)
    paragraphs: list[ParagraphChange] = field(default_factory=list)
    tables: list[TableDiff] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.status != Change.CHANGED
            or self.sections_added
            or self.sections_removed
            or self.paragraphs
            or self.tables
        )

    def summary(self) -> str:
        """One line for 修订说明 in the seed's form (将XX修改为XX), e.g.

        第4章：P1响应时间由15分钟调整为10分钟；服务目录新增SC-13等保测评配合.
        "" when only what changes every revision changed (the cover's version and date, the history row).
        """
        if self.status == Change.ADDED:
            return f"{self.label}：新增本章「{self.title}」"
        if self.status == Change.REMOVED:
            return f"{self.label}：删除本章「{self.title}」"
        clauses = [f"新增小节「{s}」" for s in self.sections_added]
        clauses += [f"删除小节「{s}」" for s in self.sections_removed]
        for p in self.paragraphs:
            if p.change == Change.CHANGED and not (self.label == COVER and p.label in ROUTINE):
                clauses.append(_edited_paragraph(p))
        for table in self.tables:
            name = "" if table.name == self.label else table.name
            for row in table.rows:
                if row.change == Change.CHANGED and not (self.label == COVER and row.key in ROUTINE):
                    edits = [
                        _edited(
                            _column(table.header, i) if table.header else "",
                            _cell(row.old, i),
                            _cell(row.new, i),
                            table.units[i] if i < len(table.units) else "",
                        )
                        for i in _changed_cells(row.old or (), row.new or ())
                    ]
                    clauses.append(row.key + "、".join(edits))
            for change, verb in ((Change.ADDED, "新增"), (Change.REMOVED, "删除")):
                if self.label == HISTORY and change == Change.ADDED:
                    continue  # the new version's own history row
                items = [table.item(r) for r in table.rows if r.change == change]
                if items:
                    clauses.append(f"{name}{verb}{_listed(items)}")
        for change, verb in ((Change.ADDED, "新增"), (Change.REMOVED, "删除")):
            groups: dict[str, list[str]] = {}
            for p in self.paragraphs:
                if p.change == change:
                    groups.setdefault(p.section or "正文", []).append(f"“{_short(p.new or p.old or '')}”")
            clauses += [f"{group}{verb}{_listed(texts, '段')}" for group, texts in groups.items()]
        return f"{self.label}：{'；'.join(clauses)}" if clauses else ""


def _short(text: str, limit: int = EXCERPT) -> str:
    """At most `limit` characters and …, cut before a punctuation mark in its second half where there is one,
    never inside a token (a first token longer than `limit` is cut at `limit`)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = 0
    for token in tokens(text):
        if cut + len(token) > limit:
            break
        cut += len(token)
    cut = cut or limit
    pause = max(text.rfind(mark, 0, cut) for mark in "，、；。：")
    return text[: pause if pause >= limit // 2 else cut] + "…"


def _listed(items: list[str], unit: str = "项") -> str:
    """SC-13等保测评配合、SC-14数据质量巡检; beyond LISTED items, the first ones and 等N项."""
    if len(items) <= LISTED:
        return "、".join(items)
    return "、".join(items[:LISTED]) + f"等{len(items)}{unit}"


def _edited_paragraph(p: ParagraphChange) -> str:
    """版本号由V2.0调整为V2.1, or 建设背景将“综合医院”修改为“综合性医院”: the edited passage, not the paragraph."""
    if p.label:
        return _edited(p.label, *(re.split("[:：]", t or "", maxsplit=1)[1].strip() for t in (p.old, p.new)))
    return _edited(p.section or "正文", p.old or "", p.new or "")


def _edited(where: str, old: str, new: str, unit: str = "") -> str:
    """A short value whole (P1响应时间由15分钟调整为10分钟); in a long text, the passage that changed,
    cut at whole tokens (将“12人”修改为“14人”), a character alone with two either side (将“综合医院”…)."""
    old, new = " ".join(old.split()), " ".join(new.split())
    if max(len(old), len(new)) <= EXCERPT:
        number = re.compile(r"-?[0-9.]+")
        shown = [v + unit if unit and number.fullmatch(v) else v for v in (old, new)]
        return f"{where}由{_value(shown[0])}调整为{_value(shown[1])}"
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    edits = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    i1, i2, j1, j2 = edits[0][1], edits[-1][2], edits[0][3], edits[-1][4]
    (i1, i2), (j1, j2) = widened(old, i1, i2), widened(new, j1, j2)
    if max(i2 - i1, j2 - j1) < 2:  # a character alone says nothing: two either side, within its clause
        before = min(2, i1 - _clause(old, i1, i2)[0], j1 - _clause(new, j1, j2)[0])
        after = min(2, _clause(old, i1, i2)[1] - i2, _clause(new, j1, j2)[1] - j2)
        (i1, i2), (j1, j2) = widened(old, i1 - before, i2 + after), widened(new, j1 - before, j2 + after)
    if i1 == i2:
        return f"{where}增加“{_short(new[j1:j2])}”"
    if j1 == j2:
        return f"{where}删去“{_short(old[i1:i2])}”"
    return f"{where}将“{_short(old[i1:i2])}”修改为“{_short(new[j1:j2])}”"


def _value(text: str) -> str:
    """A value in 由…调整为…: a number, date, version or code as it is; other text quoted; nothing is 空."""
    if not text:
        return "空"
    return text if tokens(text) == [text] else f"“{_short(text)}”"


CLAUSE_MARKS = "，、；。：,;:（）()“”"


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) grown to the clause around it, between punctuation marks."""
    while start > 0 and text[start - 1] not in CLAUSE_MARKS:
        start -= 1
    while end < len(text) and text[end] not in CLAUSE_MARKS:
        end += 1
    return start, end


@dataclass
class DocumentDiff:
    old: str
    new: str
    parts: list[PartDiff]  # only the parts that differ, in the new document's order

    def summary_lines(self) -> list[str]:
        """The 修订说明 lines: one per chapter with something to say."""
        return [line for line in (part.summary() for part in self.parts) if line]

    def note(self) -> str:
        """The 修订说明 as one cell's text: the chapters' lines joined with ；, so it pastes into one cell."""
        return "；".join(self.summary_lines())

    def to_text(self) -> str:
        if not self.parts:
            return f"{self.old} → {self.new}：内容相同（目录页不比较）"
        lines = [f"{self.old} → {self.new}"]
        for part in self.parts:
            lines.append(f"{part.label} {part.title}".rstrip())
            lines += [f"  新增小节：{s}" for s in part.sections_added]
            lines += [f"  删除小节：{s}" for s in part.sections_removed]
            for p in part.paragraphs:
                where = f"（{p.section}）" if p.section else ""
                if p.change == Change.CHANGED:
                    lines.append(f"  修改段落{where}：{_flat(p.old)} → {_flat(p.new)}")
                else:
                    lines.append(
                        f"  {'新增' if p.change == Change.ADDED else '删除'}段落{where}：{_flat(p.new or p.old)}"
                    )
            for table in part.tables:
                for row in table.rows:
                    if row.change == Change.CHANGED:
                        for i in _changed_cells(row.old or (), row.new or ()):
                            column = f" {_column(table.header, i)}" if table.header else ""
                            lines.append(
                                f"  {table.name} 修改 {row.key}{column}：{_flat(_cell(row.old, i))} → {_flat(_cell(row.new, i))}"
                            )
                    else:
                        verb = "新增" if row.change == Change.ADDED else "删除"
                        lines.append(f"  {table.name} {verb} {row.key}：{_cells(row.new or row.old)}")
        lines.append("")
        lines.append("修订说明摘要：")
        lines += self.summary_lines() or ["（仅封面的版本、签署和日期及版本历史变化）"]
        return "\n".join(lines)

    def to_json(self) -> str:
        parts = []
        for part in self.parts:
            data = asdict(part)
            data["summary"] = part.summary()
            parts.append(data)
        return json.dumps(
            {"old": self.old, "new": self.new, "parts": parts, "summary": self.summary_lines(), "note": self.note()},
            ensure_ascii=False,
            indent=2,
        )


def _flat(text: str | None) -> str:
    return (text or "").replace("\n", " / ")


def _cells(cells: tuple[str, ...] | None) -> str:
    return " | ".join(_flat(c) for c in cells or ())


def _cell(cells: tuple[str, ...] | None, index: int) -> str:
    return cells[index] if cells and index < len(cells) else ""


def _changed_cells(old: tuple[str, ...], new: tuple[str, ...]) -> list[int]:
    return [i for i in range(max(len(old), len(new))) if _cell(old, i) != _cell(new, i)]


def _column(header: tuple[str, ...], index: int) -> str:
    return header[index] if index < len(header) else f"第{index + 1}列"


# ---------------------------------------------------------------- reading a document into parts


@dataclass
class _Table:
    name: str
    header: tuple[str, ...] | None
    rows: list[tuple[str, ...]]
    units: tuple[str, ...] = ()


@dataclass
class _Part:
    key: str  # what matches it across versions: its title
    label: str
    title: str
    sections: list[str] = field(default_factory=list)
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (Heading 2, text)
    tables: list[_Table] = field(default_factory=list)


def _column_name(text: str) -> str:
    return UNIT.sub("", text.replace("\n", "")).strip()


def _unit(text: str) -> str:
    found = UNIT.search(text.replace("\n", "").strip())
    return found.group(1).strip() if found else ""


NUMBERED_CAPTION = re.compile(r"表\s*\d+\s*(\S.{0,19})")  # 表7　项目成本预算


def _table_name(table: Table, part: _Part, section: str) -> str:
    caption = table.caption.strip()
    numbered = NUMBERED_CAPTION.fullmatch(caption)
    if numbered:
        return numbered.group(1).strip()
    if caption.endswith(("：", ":")) and len(caption) <= 20:  # documents from before numbered captions
        return caption.rstrip("：:")
    return section or part.title or part.label


def _parts(document: WordDocument) -> list[_Part]:
    parts = [_Part(COVER, COVER, "")]
    section, chapters = "", 0
    for block in document.body:
        part = parts[-1]
        if isinstance(block, Table):
            header = tuple(_column_name(c) for c in block.rows[0]) if block.header_rows and block.rows else None
            rows = list(block.rows[block.header_rows :])
            units = tuple(_unit(c) for c in block.rows[0]) if header else ()
            part.tables.append(_Table(_table_name(block, part, section), header, rows, units))
            continue
        text = block.text.strip()
        if block.is_toc_entry:
            continue
        if block.style == CHAPTER_STYLE:
            chapters += 1
            parts.append(_Part(text, f"第{chapters}章", text))
            section = ""
        elif not chapters and text in (HISTORY, CONTENTS):  # the titles of the front pages
            parts.append(_Part(text, text, ""))
        elif block.style == SECTION_STYLE:
            part.sections.append(text)
            section = text
        elif text:
            part.paragraphs.append((section, text))
    return [p for p in parts if p.key != CONTENTS]


# ---------------------------------------------------------------- comparing


def diff_documents(old_docx: Path | str, new_docx: Path | str) -> DocumentDiff:
    """What changed from `old_docx` to `new_docx`; raises UnusableDocument for a file that is not a .docx."""
    old_parts = {p.key: p for p in _parts(read_document(old_docx))}
    new_parts = _parts(read_document(new_docx))
    diffs = []
    for new in new_parts:
        old = old_parts.get(new.key)
        part = _diff_part(old, new) if old else PartDiff(new.label, new.title, Change.ADDED)
        if part.changed:
            diffs.append(part)
    kept = {p.key for p in new_parts}
    diffs += [PartDiff(f"原{p.label}", p.title, Change.REMOVED) for p in old_parts.values() if p.key not in kept]
    return DocumentDiff(str(old_docx), str(new_docx), diffs)


def _diff_part(old: _Part, new: _Part) -> PartDiff:
    diff = PartDiff(new.label, new.title, Change.CHANGED)
    diff.sections_added = [s for s in new.sections if s not in old.sections]
    diff.sections_removed = [s for s in old.sections if s not in new.sections]
    diff.paragraphs = _diff_paragraphs(old.paragraphs, new.paragraphs)
    for before, table in _paired_tables(old.tables, new.tables):
        if table is None:
            assert before is not None
            removed = [RowChange(Change.REMOVED, _key(r), (), r, None) for r in before.rows]
            diff.tables.append(TableDiff(before.name, removed, before.header or (), before.units))
            continue
        header = table.header or (before.header if before else None) or ()
        rows = _diff_rows(before.rows if before else [], table.rows, header)
        if rows:
            diff.tables.append(TableDiff(table.name, rows, header, table.units or (before.units if before else ())))
    return diff


def _signature(table: _Table) -> tuple[str, ...]:
    """What tells two tables of one name apart: their header, else their first column."""
    return table.header or tuple(_key(r) for r in table.rows)


def _paired_tables(old: list[_Table], new: list[_Table]) -> list[tuple[_Table | None, _Table | None]]:
    """Tables matched by name, then in order among those of the same name, aligned by their header.

    A table inserted above 预算 is one new table; the 预算 table still meets its old self.
    Pairs in the new document's order, then the removed tables.
    """
    by_name: dict[str, list[_Table]] = {}
    for table in old:
        by_name.setdefault(table.name, []).append(table)
    new_by_name: dict[str, list[_Table]] = {}
    for table in new:
        new_by_name.setdefault(table.name, []).append(table)
    partner: dict[int, _Table | None] = {}  # id of a new table → its old one
    removed: list[_Table] = []
    for name, olds in by_name.items():
        news = new_by_name.get(name, [])
        for _op, i1, i2, j1, j2 in opcodes([_signature(t) for t in olds], [_signature(t) for t in news]):
            pairs = min(i2 - i1, j2 - j1)  # equal, or edited in place: the k-th with the k-th
            for k in range(pairs):
                partner[id(news[j1 + k])] = olds[i1 + k]
            removed += olds[i1 + pairs : i2]
    paired: list[tuple[_Table | None, _Table | None]] = [(partner.get(id(t)), t) for t in new]
    return paired + [(t, None) for t in removed]


def _diff_paragraphs(old: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[ParagraphChange]:
    changes = []
    old_texts, new_texts = [t for _, t in old], [t for _, t in new]
    for op, i1, i2, j1, j2 in opcodes(old_texts, new_texts):
        if op == "equal":
            continue
        # Removed and added paragraphs pair up in order while they stay alike (edited in place).
        pairs = 0
        while (
            pairs < min(i2 - i1, j2 - j1)
            and SequenceMatcher(None, old_texts[i1 + pairs], new_texts[j1 + pairs]).ratio() >= SIMILAR
        ):
            pairs += 1
        changes += [
            ParagraphChange(Change.CHANGED, new[j1 + k][0], old_texts[i1 + k], new_texts[j1 + k]) for k in range(pairs)
        ]
        changes += [ParagraphChange(Change.REMOVED, old[i][0], old_texts[i], None) for i in range(i1 + pairs, i2)]
        changes += [ParagraphChange(Change.ADDED, new[j][0], None, new_texts[j]) for j in range(j1 + pairs, j2)]
    return changes


def _key(row: tuple[str, ...]) -> str:
    return (row[0] if row else "").replace("\n", " ").strip().rstrip("：:")


def _diff_rows(old: list[tuple[str, ...]], new: list[tuple[str, ...]], header: tuple[str, ...]) -> list[RowChange]:
    """Rows matched by first cell; rows sharing a first cell are aligned in order among themselves."""
    # Grouped by key in one pass each (new first, so keys come in the new document's order).
    groups: dict[str, tuple[list[tuple[str, ...]], list[tuple[str, ...]]]] = {}
    for row in new:
        groups.setdefault(_key(row), ([], []))[1].append(row)
    for row in old:
        groups.setdefault(_key(row), ([], []))[0].append(row)
    changes = []
    for key, (before, after) in groups.items():
        for op, i1, i2, j1, j2 in opcodes(before, after):
            if op == "equal":
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                old_row, new_row = before[i1 + k], after[j1 + k]
                changes.append(
                    RowChange(Change.CHANGED, key, _changed_columns(old_row, new_row, header), old_row, new_row)
                )
            changes += [RowChange(Change.REMOVED, key, (), r, None) for r in before[i1 + pairs : i2]]
            changes += [RowChange(Change.ADDED, key, (), None, r) for r in after[j1 + pairs : j2]]
    return changes


def _changed_columns(old: tuple[str, ...], new: tuple[str, ...], header: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_column(header, i) for i in _changed_cells(old, new)) if header else ()
