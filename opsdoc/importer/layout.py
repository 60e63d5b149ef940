"""Where the Word template puts each workbook value: the render spec read backwards.

The template's own paragraphs and tables say it: a paragraph with `{{ doc.x }}` tags becomes a
pattern whose groups are those values, a `{%p for line in background.x %}` block a place for
free paragraphs, a table's header row and `{%tr for … %}` row the columns of a sheet. Nothing
here knows the bundled template's wording, so a company's own template imports the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.contract.model import SHEETS, ColumnSpec, SheetSpec
from opsdoc.contract.synonyms import norm, unitless
from opsdoc.contract.vocabulary import CHAPTER_STYLE, DOCUMENT_KIND, SECTION_STYLE
from opsdoc.errors import TemplateError, UnusableDocument
from opsdoc.generate.context import DERIVED, QUALITY_GROUPS
from opsdoc.office.docx_text import Paragraph, Table, read_document
from opsdoc.qa.expectations import BLOCK_TAG, TEMPLATE_TAG

TAG = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
ROW_LOOP = re.compile(r"\{%tr\s+for\s+(\w+)\s+in\s+([\w.]+)(?:\[[-\d:]*\])?\s*%\}")  # budget[:-1] too
# A condition inside one paragraph ({% if doc.draft %}草稿{% else %}受控{% endif %}): what it
# prints is derived from values read elsewhere, so a sentence matches the word standing there.
INLINE_CONDITION = re.compile(r"\{%-?\s*if\b.*?\{%-?\s*endif\s*-?%\}", re.S)
BRANCH_TAG = re.compile(r"\{%-?\s*(?:if|elif|else|endif)\b.*?-?%\}", re.S)
ANY_TEXT = "\x00"
LINES_LOOP = re.compile(r"\{%p\s+for\s+line\s+in\s+([\w.]+)\s*%\}")
NOTES = re.compile(r"notes\.c(\d+)$")
# A column that holds a whole period, in documents that do not give start and end their own columns.
PERIOD_HEADERS = ("起止日期", "起止时间", "起止", "期限", "服务期限", "期间", "服务期间", "周期")


@dataclass(frozen=True)
class Target:
    """Where one context value lands: a sheet and one column, or two for a "date/name" value."""

    sheet: SheetSpec
    columns: tuple[ColumnSpec, ...]
    suffix: str = ""  # printed after the value: the cover title is 项目名称 + 运维工作管理规范
    unbroken: bool = False  # printed with line breaks where it fits the page (the cover title): read without them
    chapter: int | None = None  # 补充说明 of this chapter


def _sheet(key: str) -> SheetSpec | None:
    return next((s for s in SHEETS if s.key == key), None)


def target(path: str, loops: dict[str, str] | None = None) -> Target | None:
    """The workbook place of a context path such as "doc.version" or "r.revised"; None when derived."""
    root, _, key = path.partition(".")
    root = (loops or {}).get(root, root).split(".")[0]
    if root == "doc" and key in ("title", "cover_title"):
        spec = _sheet("doc")
        assert spec is not None
        if key == "cover_title":
            return Target(spec, (spec.column("项目名称"),), unbroken=True)
        return Target(spec, (spec.column("项目名称"),), suffix=DOCUMENT_KIND)
    notes = NOTES.match(path)
    if notes:
        spec = _sheet("notes")
        assert spec is not None
        return Target(spec, (spec.column("正文"),), chapter=int(notes.group(1)))
    spec = _sheet(root)
    if spec is None:
        return None
    if key in spec.model.joined:
        names = spec.model.joined[key]
        return Target(spec, tuple(c for n in names for c in spec.columns if c.name == n))
    columns = tuple(c for c in spec.columns if c.key == key)
    return Target(spec, columns) if columns else None


@dataclass(frozen=True)
class Sentence:
    """A template paragraph with values inline, as a pattern; group i is targets[i]."""

    pattern: re.Pattern[str]
    targets: tuple[Target | None, ...]
    bare: bool = False  # nothing but values ({{ doc.org }} alone): it would match any paragraph


def _branches(condition: str) -> str:
    """What an inline condition may print: any of its branches, a branch with a value in it as any word."""
    options = [
        r"\S*?" if TAG.search(branch) else _loose(branch)  # a stamp word (草稿, 受控): spaces still separate
        for branch in BRANCH_TAG.split(condition)[1:-1]
    ]
    return "(?:" + "|".join(options) + ")"


def _loose(literal: str, conditions: Iterator[str] | None = None) -> str:
    """The template's words, matching the full-width or half-width spelling and any spacing.

    Each ANY_TEXT in `literal` stands for the next of `conditions`, the patterns of its inline conditions.
    """
    out = []
    for char in literal:
        if char == ANY_TEXT:
            out.append(next(conditions, r"\S*?") if conditions else r"\S*?")
            continue
        if char.isspace():
            out.append(r"\s*")
            continue
        variants = {char, unicodedata.normalize("NFKC", char)}
        out.append(
            "[" + "".join(re.escape(v) for v in sorted(variants)) + "]" if len(variants) > 1 else re.escape(char)
        )
    return "".join(out)


def sentence(text: str, loops: dict[str, str] | None = None) -> Sentence:
    conditions = iter([_branches(found) for found in INLINE_CONDITION.findall(text)])
    parts = TAG.split(INLINE_CONDITION.sub(ANY_TEXT, text))
    regex, targets = r"\s*", list[Target | None]()
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += _loose(part, conditions)
            continue
        where = target(part, loops)
        suffix = re.escape(where.suffix) if where and where.suffix else ""
        regex += f"(?P<g{len(targets)}>.*?){suffix}"
        targets.append(where)
    bare = not "".join(parts[0::2]).strip()
    return Sentence(re.compile(regex + r"\s*", re.S), tuple(targets), bare)


@dataclass(frozen=True)
class TableColumn:
    headers: frozenset[str]  # normalized spellings of its header: the template's and the workbook's
    target: Target | None  # None: the template prints a derived value (a total)
    period: bool = False  # one cell holding start and end
    line: re.Pattern[str] | None = None  # one paragraph of a multi-line cell (•\xa0…, 1.\xa0…): its value

    @property
    def title(self) -> str:
        """The column as the workbook names it (修订日期/修订人 for a joined one)."""
        return "/".join(c.label for c in self.target.columns) if self.target else min(self.headers, key=len)

    def value(self, cell: str) -> str:
        """The cell's text without what the template puts around each line (a bullet, a number)."""
        if self.line is None:
            return cell
        return "\n".join(unmarked(self.line, line) for line in cell.split("\n"))


def unmarked(shown: re.Pattern[str], line: str) -> str:
    """A line without the bullet or number the template prints before it (`shown`); as it is if it has none."""
    found = shown.fullmatch(line)
    return found.group("line") if found else line


LINE_IN_LOOP = re.compile(r"\{%p\s+for\s+line\s+in\s+[\w.]+\s*%\}\n(.*?)\n\{%p\s+(?:else|endfor)", re.S)


def _line_pattern(cell: str) -> re.Pattern[str] | None:
    """`•\xa0{{ line }}` or `{{ loop.index }}.\xa0{{ line }}` as a pattern whose group "line" is the value."""
    found = LINE_IN_LOOP.search(cell)
    if found is None or found.group(1).strip() == "{{ line }}":
        return None
    return _shown_line(found.group(1))


def _shown_line(shown: str) -> re.Pattern[str]:
    pattern = re.escape(shown)
    pattern = pattern.replace(re.escape("{{ loop.index }}"), r"\d+").replace(re.escape("{{ line }}"), "(?P<line>.*)")
    return re.compile(pattern, re.S)


@dataclass(frozen=True)
class TemplateTable:
    sheet: SheetSpec
    columns: tuple[TableColumn, ...]
    fixed: tuple[tuple[str, str], ...]  # column name and value every row of this table has
    caption: str  # normalized
    chapter: int
    totals: tuple[tuple[int, ColumnSpec], ...]  # (column index, the summed column) of a 合计 row

    @property
    def title(self) -> str:
        return self.sheet.title


@dataclass(frozen=True)
class Pairs:
    """A label / value table (cover, 服务合同): each row a label and a sentence."""

    rows: tuple[tuple[str, Sentence], ...]
    chapter: int


@dataclass(frozen=True)
class Slot:
    """One element of a chapter in template order."""

    kind: str  # "section", "fixed", "sentence", "lines", "table"
    text: str = ""  # normalized section title or fixed paragraph
    sentence: Sentence | None = None
    lines: Target | None = None
    line: re.Pattern[str] | None = None  # a numbered paragraph of `lines` (1．…): its group "line" is the value
    table: TemplateTable | Pairs | None = None


@dataclass
class Layout:
    chapters: list[str]  # titles, normalized; chapter 0 is the front matter
    slots: list[list[Slot]] = field(default_factory=list)  # per chapter, 0 = front matter

    def tables(self) -> list[TemplateTable | Pairs]:
        return [s.table for chapter in self.slots for s in chapter if s.table is not None]


def _headers(label: str, columns: tuple[ColumnSpec, ...]) -> frozenset[str]:
    names = {norm(label)}
    for column in columns:
        names |= {norm(column.label), unitless(column.label)}
    if len(columns) == 2:
        names.add(norm("/".join(c.label for c in columns)))
    return frozenset(names)


def _loop_table(table: Table, chapter: int) -> TemplateTable | None:
    loop_rows = [i for i, row in enumerate(table.rows) if ROW_LOOP.search(row[0])]
    if not loop_rows:
        return None
    header = table.rows[loop_rows[0] - 1] if loop_rows[0] > 0 else ()
    seq = ROW_LOOP.search(table.rows[loop_rows[0]][0])
    assert seq is not None
    var, path = seq.group(1), seq.group(2)
    spec = _sheet(path.split(".")[0])
    if spec is None:
        return None
    body = table.rows[loop_rows[0] + 1]
    columns = []
    for label, cell in zip(header, body, strict=False):
        tag = LINES_LOOP.search(cell) or TAG.search(cell)
        where = target(tag.group(1), {var: path}) if tag else None
        if where is None and not TEMPLATE_TAG.search(cell):
            # A fixed word in the row (过程质量): the column of that name holds it.
            matching = tuple(c for c in spec.columns if norm(c.label) == norm(label))
            where = Target(spec, matching) if matching else None
        columns.append(TableColumn(_headers(label, where.columns if where else ()), where, line=_line_pattern(cell)))
    names = {c.name for c in spec.columns}
    if {"start", "end"} <= names:
        both = tuple(c for c in spec.columns if c.name in ("start", "end"))
        columns.append(TableColumn(frozenset(norm(h) for h in PERIOD_HEADERS), Target(spec, both), period=True))
    group = path.split(".", 1)[1] if "." in path else ""
    kind = {v: k for k, v in QUALITY_GROUPS.items()}.get(group)
    fixed = (
        (("kind", kind),) if kind and not any(c.target and c.target.columns[0].name == "kind" for c in columns) else ()
    )
    totals = []
    for row in table.rows[loop_rows[-1] + 2 :]:
        for index, cell in enumerate(row):
            tag = TAG.search(cell)
            derived = DERIVED.get(tag.group(1)) if tag else None
            if derived and len(derived.inputs) == 1:
                sheet_name, column_name = derived.inputs[0]
                totals += [(index, c) for c in spec.columns if sheet_name == spec.name and c.name == column_name]
    return TemplateTable(spec, tuple(columns), fixed, norm(table.caption), chapter, tuple(totals))


def _pairs(table: Table, chapter: int) -> Pairs | None:
    """Label rows: the value is the rest of the row (the cover's 编制：姓名 日期 spans two cells)."""
    rows = [
        (norm(row[0]), sentence("\n".join(cell for cell in row[1:] if cell.strip())))
        for row in table.rows
        if len(row) >= 2 and row[0] and any(TAG.search(cell) for cell in row[1:])
    ]
    # A document typed from an older template may label a value as the workbook does (生效日期
    # where the template now says 实施日期): the workbook's label is accepted too.
    labels = {label for label, _ in rows}
    for _, said in list(rows):
        known = [t for t in said.targets if t is not None]
        if len(known) == 1 and len(known[0].columns) == 1 and norm(known[0].columns[0].label) not in labels:
            rows.append((norm(known[0].columns[0].label), said))
            labels.add(norm(known[0].columns[0].label))
    return Pairs(tuple(rows), chapter) if rows else None


def read_layout(template: Path) -> Layout:
    """The template's chapters, each as the sequence of slots a document made from it shows."""
    try:
        source = read_document(template)
    except UnusableDocument as exc:
        raise TemplateError(template, f"Word 模板无法读取：{exc.message}") from exc
    layout = Layout(chapters=[""], slots=[[]])
    in_loop: Target | None = None
    depth = 0
    for block in source.body:
        slots = layout.slots[-1]
        chapter = len(layout.chapters) - 1
        if isinstance(block, Table):
            made = _loop_table(block, chapter) or _pairs(block, chapter)
            if made:
                slots.append(Slot("table", table=made))
            continue
        text = block.text
        blocks = INLINE_CONDITION.sub(ANY_TEXT, text)  # the block tags that span paragraphs
        lines = LINES_LOOP.search(text)
        if lines and depth == 0:
            in_loop = target(lines.group(1))
            slots.append(Slot("lines", lines=in_loop))
        elif depth == 1 and slots and slots[-1].lines is in_loop and "{{ line }}" in text and text != "{{ line }}":
            slots[-1] = Slot("lines", lines=in_loop, line=_shown_line(text))  # each line with a number before it
        for tag in BLOCK_TAG.findall(blocks):
            depth += 1 if tag in ("for", "if") else -1
        if depth or lines or BLOCK_TAG.search(blocks) or not text.strip() or _is_toc(block):
            continue
        if block.style == CHAPTER_STYLE:
            layout.chapters.append(norm(text))
            layout.slots.append([])
        elif block.style == SECTION_STYLE:
            slots.append(Slot("section", norm(text)))
        elif TAG.search(text) or INLINE_CONDITION.search(text):
            slots.append(Slot("sentence", sentence=sentence(text)))
        else:
            slots.append(Slot("fixed", norm(text)))
    return layout


def _is_toc(paragraph: Paragraph) -> bool:
    return paragraph.is_toc_entry
