"""Read a 运维工作管理规范 — built by opsdoc or written by hand — back into sheet records.

The document is walked chapter by chapter along the template's layout: headings are found
by their words (numbered by Word, by hand, or as a bold run-in label), fixed text is
recognised and skipped, sentences with values give those values, tables are matched to
their sheet by header names and caption, and the free paragraphs fill the template's
paragraph places (项目背景, 补充说明). Whatever finds no place becomes a finding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from opsdoc.contract.findings import Cell, Finding, Place, finding
from opsdoc.contract.model import SHEET_BY_NAME, SHEETS, ColumnSpec, SheetSpec
from opsdoc.contract.synonyms import SIMILAR, SUGGEST, Synonyms, norm, similar, unitless
from opsdoc.contract.vocabulary import CHAPTER_STYLE, HISTORY, SECTION_STYLE
from opsdoc.importer.layout import Layout, Pairs, Sentence, Slot, Target, TemplateTable, unmarked
from opsdoc.importer.values import Read, read_date, read_value, split_period
from opsdoc.office.docx_text import Paragraph, Table, WordDocument, shorten

# Hand numbering before a heading: 4．, 4.1, 第四章, 一、, （一）, (1).
NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+[章节条]|\d+(?:\.\d+)*\.?|[一二三四五六七八九十]+[、.]|"
    r"\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十]+(?=\s))\s*"
)
# Numbering of a chapter, not of a section: 第四章, 四、, 4、, "4 " (not 4.1, （四）, (1)).
TOP_NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+章|[一二三四五六七八九十]+[、.]|\d+(?:[、.](?!\d)|\s))"
)
# A line of a table of contents typed by hand: dot leaders or a tab, then the page number.
TOC_LINE = re.compile(r"(?:\.{2,}|…+|·{2,}|\t)\s*\d+\s*$")
CHINESE_DATE = re.compile(
    r"[〇零一二三四五六七八九十\d]{2,4}\s*年\s*[〇零一二三四五六七八九十\d]{1,2}\s*月(?:\s*[〇零一二三四五六七八九十\d]{1,3}\s*日)?"
)
HEADER_CHARS = 12  # longer text in a table's first rows is a value, never a header word to liken
TOTAL_WORDS = {"合计", "总计", "小计"}


def heading_words(text: str) -> str:
    return norm(NUMBERING.sub("", unicodedata.normalize("NFKC", text)))


@dataclass
class Imported:
    """Sheet records read from a document, by sheet field name, and the findings about it."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # key-value sheets: column → value
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # table sheets
    findings: list[Finding] = field(default_factory=list)
    chapters: int = 0  # template chapters recognised
    kept: int = 0  # paragraphs put into their chapter's 补充说明


def _cell(spec: SheetSpec, column: ColumnSpec, record: int | None) -> Cell:
    """The cell of the written workbook a value goes to (layout of opsdoc.workbook.blank)."""
    index = spec.columns.index(column)
    if record is None:
        return Cell(spec.title, f"{spec.title}!B{index + 1}")
    return Cell(spec.title, f"{spec.title}!{get_column_letter(index + 1)}{record + 2}")


class LegacyReader:
    def __init__(self, layout: Layout, synonyms: Synonyms):
        self.layout = layout
        self.synonyms = synonyms
        # per template table, per column: every word that stands for it (the template's, the workbook's, synonyms)
        self.words = {
            id(t): [synonyms.words_for(set(c.headers)) for c in t.columns]
            for t in layout.tables()
            if isinstance(t, TemplateTable)
        }
        # per template table, the columns whose words another sheet's tables use too (说明, 开始日期, 起止):
        # they alone never make a table that sheet's
        sheets_of: dict[str, set[str]] = {}
        for t in layout.tables():
            if isinstance(t, TemplateTable):
                for column in t.columns:
                    for word in column.headers:
                        sheets_of.setdefault(word, set()).add(t.sheet.name)
        self.generic = {
            id(t): {i for i, c in enumerate(t.columns) if c.period or any(len(sheets_of[w]) > 1 for w in c.headers)}
            for t in layout.tables()
            if isinstance(t, TemplateTable)
        }
        self.chapters_seen: set[int] = set()
        self.astray = ""  # the chapter heading the template does not have that the text is under
        self.kept: dict[int, list[Place]] = {}  # chapter → paragraphs put into its 补充说明
        self.out = Imported()
        self.chapter = 0
        self.anchor = -1  # index of the last slot of the chapter the document was seen at
        self.lines: dict[tuple[str, str, int | None], list[str]] = {}  # (sheet, column, chapter) → paragraphs
        self.sources: dict[tuple[str, str], Place] = {}  # where a key-value sheet's value was read
        self.tables_seen: set[str] = set()
        self.by_style = False  # headings are known by their style (set per document in read)

    # ------------------------------------------------------------ walk

    def read(self, document: WordDocument) -> Imported:
        # A document whose chapters are real headings marks its headings by style: a plain
        # paragraph that happens to read 服务合同 is then text, not a chapter.
        styled = {self._chapter_of(p) for p in document.body_paragraphs() if p.style == CHAPTER_STYLE}
        self.by_style = len(styled - {None}) >= len(self.layout.chapters[1:]) // 2
        for block in document.body:
            if isinstance(block, Table):
                self._table(block)
            else:
                self._paragraph(block)
        self._finish()
        self.out.chapters, self.out.kept = len(self.chapters_seen), sum(len(p) for p in self.kept.values())
        return self.out

    def _slots(self) -> list[Slot]:
        return self.layout.slots[self.chapter]

    def _paragraph(self, p: Paragraph) -> None:
        text = p.text.strip()
        if not text or p.is_toc_entry or TOC_LINE.search(text):
            return
        words = heading_words(text)
        may_head = not self.by_style or p.style in (CHAPTER_STYLE, SECTION_STYLE)
        if words in self.synonyms.chapters.get(HISTORY, frozenset()) | {HISTORY}:
            return  # the version table's heading, in the front matter as in the template (修订记录, 版本记录)
        chapter = self._chapter_of(p) if may_head else None
        if chapter is not None:
            self.chapter, self.anchor, self.astray = chapter, -1, ""
            self.chapters_seen.add(chapter)
            return
        if p.style == CHAPTER_STYLE and not any(s.kind == "section" and words == s.text for s in self._slots()):
            self._unknown_heading(p, words)
            return
        slots = self._slots()
        for index, slot in enumerate(slots):
            if may_head and slot.kind == "section" and words == slot.text:
                self.anchor = index
                return
        # A section given as a bold run-in label: 预算管理：应按照……
        label = re.match(r"^(.{2,20}?)[:：]\s*(.+)$", text, re.S)
        if label:
            for index, slot in enumerate(slots):
                if slot.kind == "section" and heading_words(label.group(1)) == slot.text:
                    self.anchor = index
                    self._paragraph(Paragraph(label.group(2), p.style, p.part, p.index, p.table, p.row))
                    return
        for index, slot in enumerate(slots):
            if slot.kind == "fixed" and norm(text) == slot.text:
                self.anchor = max(self.anchor, index)
                return
        for index, slot in enumerate(slots):
            said = slot.sentence
            if said and said.bare and (label or index != self.anchor + 1 or _dated(text)):
                continue  # a bare value (编制单位 alone on its line) takes only the unlabelled paragraph right at its place
            if slot.kind == "sentence" and said and self._sentence(said, text, p.location()):
                self.anchor = max(self.anchor, index)
                return
        if label and self._labelled(label.group(1), label.group(2).strip(), p.location()):
            return
        if self.astray:  # under a heading the template does not have: no chapter's place is this text's
            self._foreign(p)
            return
        here = self._lines_slot()
        if (here is None or here.lines is None) and self.chapter:
            self._keep(p)
            return
        if here is None or here.lines is None:
            self._foreign(p)
            return
        place = here.lines
        read = read_value(place.columns[0], text)
        if read and read.code == "import-placeholder":
            self._report(read, p.location(), place.sheet)
            return
        lines = [line for line in text.split("\n") if line.strip()]
        if here.line:
            lines = [unmarked(here.line, line.strip()) for line in lines]
        self.lines.setdefault((place.sheet.name, place.columns[0].name, place.chapter), []).extend(lines)

    def _lines_slot(self) -> Slot | None:
        """The paragraph place right after the document's position in the template, if any."""
        following = self._slots()[self.anchor + 1 : self.anchor + 2]
        return following[0] if following and following[0].kind == "lines" else None

    def _chapter_of(self, p: Paragraph) -> int | None:
        """The template chapter a paragraph heads: by its words, a synonym, or (for a paragraph that looks
        like a heading: a heading style or hand numbering, and short) a title alike enough."""
        words = heading_words(p.text)
        titles = self.layout.chapters
        if words in titles[1:]:
            return titles.index(words)
        looks_like_heading = p.style == CHAPTER_STYLE or bool(
            TOP_NUMBERING.match(unicodedata.normalize("NFKC", p.text))
        )
        if not looks_like_heading or len(words) > 30:
            return None
        for index, title in enumerate(titles[1:], start=1):
            if words in self.synonyms.chapters.get(title, frozenset()):
                return index
        alike = max(((similar(words, t), i) for i, t in enumerate(titles[1:], start=1)), default=(0.0, 0))
        return alike[1] if alike[0] >= SIMILAR else None

    def _unknown_heading(self, p: Paragraph, words: str) -> None:
        """A chapter heading the template does not have: reported with the chapter it is most like, and
        the text under it is reported too (it belongs to no chapter) until a known chapter begins."""
        self.astray = shorten(p.text.strip())
        titles = self.layout.chapters[1:]
        scores = {
            i: max([similar(words, t), *(similar(words, w) for w in self.synonyms.chapters.get(t, ()))])
            for i, t in enumerate(titles, start=1)
        }
        top = max(scores.values())
        alike = [f"第{i}章「{titles[i - 1]}」" for i, score in scores.items() if score == top]
        hint = f"，最接近的是{'或'.join(alike)}" if top >= SUGGEST else ""
        self.out.findings.append(
            finding(
                "import-foreign-paragraph",
                p.location(),
                f"这个一级标题不是模板的章节{hint}：其下的文字没有归入任何章节，请核对后填入对应的工作表"
                "（确是该章的另一种说法，可在 opsdoc.toml 的 [synonyms.chapters] 中加上）",
                [Cell("补充说明")],
            )
        )

    def _keep(self, p: Paragraph) -> None:
        """A paragraph under a chapter heading that is neither template text nor a value: the chapter's 补充说明."""
        guidance = read_value(SHEET_BY_NAME["notes"].column("正文"), p.text)
        if guidance.code == "import-placeholder":
            self._report(guidance, p.location(), None)
            return
        notes = SHEET_BY_NAME["notes"]
        lines = [line.strip() for line in p.text.split("\n") if line.strip()]
        self.lines.setdefault((notes.name, notes.column("正文").name, self.chapter), []).extend(lines)
        self.kept.setdefault(self.chapter, []).append(p.location())

    def _foreign(self, p: Paragraph) -> None:
        guidance = read_value(SHEET_BY_NAME["notes"].column("正文"), p.text)
        if guidance.code == "import-placeholder":
            self._report(guidance, p.location(), None)
            return
        where = (
            f"标题「{self.astray}」下"
            if self.astray
            else f"第{self.chapter}章"
            if self.chapter
            else "封面和文件版本历史"
        )
        self.out.findings.append(
            finding(
                "import-foreign-paragraph",
                p.location(),
                f"{where}的这段文字不是模板的固定文字，也不属于任何已知的值，没有导入；"
                + (
                    "如需保留，请写入它所属章节的「补充说明」或对应的工作表"
                    if self.astray
                    else f"如需保留，请写入工作表「补充说明」（章节 {self.chapter}）"
                    if self.chapter
                    else "请核对「文档信息」各项"
                ),
                [Cell("补充说明")] if self.chapter else [Cell("文档信息")],
            )
        )

    # ------------------------------------------------------------ values

    def _report(self, read: Read, place: Place, cell: Cell | SheetSpec | None) -> None:
        if read.code is None:
            return
        related = (cell,) if isinstance(cell, Cell) else (Cell(cell.title),) if cell else ()
        self.out.findings.append(finding(read.code, place, read.message, related))

    def _set(self, where: Target, text: str, place: Place, record: dict[str, Any] | None = None) -> None:
        """Put one value's text into a record (tables) or the sheet's values (key-value sheets)."""
        spec = where.sheet
        index = len(self.out.records.get(spec.name, [])) if record is not None else None
        texts = [text]
        if len(where.columns) == 2:
            texts = _split_pair(text, where)
        for column, part in zip(where.columns, texts, strict=False):
            read = read_value(column, part)
            if read.code is not None:  # the cell is named only when there is something to say of it
                self._report(read, place, _cell(spec, column, index))
            if read.value is None:
                continue
            if record is not None:
                if record.get(column.name) not in (None, read.value):
                    self.out.findings.append(
                        finding(
                            "import-ambiguous-value",
                            place,
                            f"「{column.label}」在这一行有两个不同的值（「{record[column.name]}」和「{read.value}」），单元格留空",
                            [_cell(spec, column, index)],
                        )
                    )
                    record[column.name] = None
                    continue
                record[column.name] = read.value
                continue
            values = self.out.values.setdefault(spec.name, {})
            if column.name in values and values[column.name] != read.value:
                earlier = self.sources[(spec.name, column.name)]
                self.out.findings.append(
                    finding(
                        "import-ambiguous-value",
                        place,
                        f"「{column.label}」在文档中有两个不同的值（「{values[column.name]}」和「{read.value}」），单元格留空",
                        [earlier, _cell(spec, column, None)],
                    )
                )
                values[column.name] = None
                continue
            if column.name not in values:
                values[column.name] = read.value
                self.sources[(spec.name, column.name)] = place

    def _sentence(self, sentence: Sentence, text: str, place: Place) -> bool:
        match = sentence.pattern.fullmatch(text)
        if not match:
            return False
        for i, where in enumerate(sentence.targets):
            if where is not None:
                value = match.group(f"g{i}")
                self._set(where, re.sub(r"\s*\n\s*", "", value) if where.unbroken else value, place)
        return True

    # ------------------------------------------------------------ tables

    def _table(self, table: Table) -> None:
        if not any(cell.strip() for row in table.rows for cell in row):
            return
        matched, near = self._match(table)
        if matched is None:
            self.out.findings.append(
                finding(
                    "import-unknown-table",
                    table.location(1),
                    "表格的表头不属于任何工作表，没有导入；" + (near or "请把内容填入对应的工作表"),
                    [Cell(near_sheet)] if (near_sheet := self._near_sheet) else (),
                )
            )
            return
        template, header_row, columns = matched
        index = next((i for i, s in enumerate(self._slots()) if s.table is template), None)
        if index is not None:
            self.anchor = max(self.anchor, index)
        if isinstance(template, Pairs):
            self._pairs(table, template)
        else:
            self._records(table, template, header_row, columns)

    def _match(self, table: Table) -> tuple[tuple[TemplateTable | Pairs, int, list[int | None]] | None, str]:
        """The template table this one is, with its header row and each cell's column; else None and,
        when some headers match a sheet's, a suggestion naming the sheet and the columns that match."""
        best: tuple[tuple[int, int, int], TemplateTable | Pairs, int, list[int | None]] | None = None
        near: tuple[int, TemplateTable, tuple[str, ...], list[int | None]] | None = None
        self._near_sheet = ""
        caption = norm(table.caption)
        for template in self.layout.tables():
            same_chapter = int(template.chapter == self.chapter)
            if isinstance(template, Pairs):
                labels = {label for label, _ in template.rows}
                hits = sum(norm(row[0]) in labels for row in table.rows if row)
                if hits >= 2:
                    score = (hits, 0, same_chapter)
                    if best is None or score > best[0]:
                        best = (score, template, -1, [])
                continue
            for header_row, row in enumerate(table.rows[:3]):
                columns = self._columns_of(template, row)
                hits = len({c for c in columns if c is not None})
                wanted = len([c for c in template.columns if not c.period])
                captioned = int(bool(caption) and caption == template.caption)
                # Half the columns place a table in its own chapter or under its caption; elsewhere it takes
                # nearly all of them (阶段/工作内容/起止时间/说明 is no 服务周期 just because two words match).
                enough = min(wanted, max(2, (wanted + 1) // 2)) if same_chapter or captioned else max(3, wanted - 1)
                specific = any(c is not None and c not in self.generic[id(template)] for c in columns)
                if hits < min(wanted, enough) or not specific:
                    if hits and (near is None or hits > near[0]):
                        near = (hits, template, row, columns)
                    continue
                score = (hits, captioned, same_chapter)
                if best is None or score > best[0]:
                    best = (score, template, header_row, columns)
        if best is not None:
            return best[1:], ""
        if near is None:
            return None, ""
        _, template, header, columns = near
        pairs = [
            f"{cell.strip()}→{template.columns[at].title}"
            for cell, at in zip(header, columns, strict=False)
            if at is not None
        ]
        self._near_sheet = template.sheet.title
        return (
            None,
            f"看起来是「{template.sheet.title}」（{'、'.join(pairs)}），但能对应的列不足以确定是它：请核对后填入该工作表",
        )

    def _columns_of(self, template: TemplateTable, header: tuple[str, ...]) -> list[int | None]:
        """The template column each header cell names. Two cells never share one column on a guess: an
        exact header keeps it against a synonym (备注 beside 修订说明), two equally good weaker matches place
        neither (服务类型 and 服务级别 for 级别: both reported); a column of a date and a name (修订日期/修订人)
        takes one cell for each (更新日期 and 编辑人)."""
        matched = [self._column_of(template, cell) for cell in header]
        columns: list[int | None] = [m[0] if m else None for m in matched]
        for at in {c for c in columns if c is not None}:
            cells = [i for i, c in enumerate(columns) if c == at]
            if len(cells) == 1:
                continue
            parts = {i: self._part_of(template, at, header[i]) for i in cells}
            if len(cells) == 2 and None not in parts.values() and len(set(map(id, parts.values()))) == 2:
                continue  # 更新日期 and 编辑人: each its own part of 修订日期/修订人
            strength = {i: (matched[i] or (0, 0))[1] for i in cells}
            best = max(strength.values())
            keep = [i for i in cells if strength[i] == best]
            for i in cells:
                if i not in keep or len(keep) > 1:
                    columns[i] = None  # reported as a column the sheet does not have
        return columns

    def _part_of(self, template: TemplateTable, at: int, header: str) -> ColumnSpec | None:
        """Which of a joined column's two (修订日期 or 修订人) a header names, if it names one alone."""
        where = template.columns[at].target
        if where is None or len(where.columns) != 2:
            return None
        bare = unitless(header)
        named = [c for c in where.columns if bare in self.synonyms.words_for({unitless(c.label)})]
        return named[0] if len(named) == 1 else None

    def _column_of(self, template: TemplateTable, header: str) -> tuple[int, int] | None:
        """The template column a document's header names and how surely: 3 exactly, 2 through a
        synonym, 1 alike enough (and clearly the most alike)."""
        name, bare = norm(header), unitless(header)
        exact = next((i for i, c in enumerate(template.columns) if name in c.headers or bare in c.headers), None)
        if exact is not None:
            return exact, 3
        if not bare:
            return None
        words = self.words[id(template)]
        by_synonym = [i for i, w in enumerate(words) if bare in w]
        if len(by_synonym) == 1:
            return by_synonym[0], 2
        if len(bare) > HEADER_CHARS or any(c.isdigit() for c in bare):
            return None  # a value, not a header: no similarity is tried (tables' first rows are tried as headers)
        scored = sorted(((max(similar(bare, w) for w in ws), i) for i, ws in enumerate(words) if ws), reverse=True)
        if scored and scored[0][0] >= SIMILAR and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            return scored[0][1], 1
        return None

    def _labelled(self, label: str, value: str, place: Place) -> bool:
        """A cover or contract field typed as a paragraph (密级：内部) instead of in the template's table."""
        for slot in self._slots():
            if isinstance(slot.table, Pairs):
                found = dict(slot.table.rows).get(norm(label))
                if found and (self._sentence(found, value, place) or self._period(found, value, place)):
                    return True
        return False

    def _pairs(self, table: Table, template: Pairs) -> None:
        sentences = dict(template.rows)
        for number, row in enumerate(table.rows, start=1):
            if not any(cell.strip() for cell in row):
                continue
            place = table.location(number)
            found = sentences.get(norm(row[0])) if row else None
            value = "\n".join(cell for cell in row[1:] if cell.strip())
            if found is None:
                self.out.findings.append(
                    finding("import-foreign-paragraph", place, f"「{shorten(row[0])}」不是模板表格中的项目，没有导入")
                )
            elif not self._sentence(found, value, place) and not self._period(found, value, place):
                self.out.findings.append(
                    finding(
                        "import-bad-value",
                        place,
                        f"「{shorten(value)}」与模板的写法不同，无法拆分，没有导入",
                        tuple(Cell(t.sheet.title) for t in found.targets if t)[:1],
                    )
                )

    def _period(self, found: Sentence, text: str, place: Place) -> bool:
        """A start and an end date written with another separator (…—…, 自…起至…止)."""
        dates = [t for t in found.targets if t and t.columns[0].kind == "date"]
        period = split_period(text)
        if len(dates) != 2 or len(found.targets) != 2 or period is None:
            return False
        for where, part in zip(dates, period, strict=True):
            self._set(where, part, place)
        return True

    def _records(self, table: Table, template: TemplateTable, header_row: int, columns: list[int | None]) -> None:
        spec = template.sheet
        self.tables_seen.add(spec.name)
        header = table.rows[header_row]
        below = table.rows[header_row + 1] if header_row + 1 < len(table.rows) else ()
        continued = _continues(
            header, below
        )  # a second header row under cells merged down (响应时间: 工作时间 | 非工作时间)
        body = table.rows[header_row + (2 if continued else 1) :]
        # A column with no header of its own (the second half of a cell merged across) but data under it
        # is a column the sheet does not have: named by its sub-header, or by its place.
        unnamed = [
            (below[i] if continued and i < len(below) and below[i].strip() else f"第{i + 1}列")
            for i, (cell, c) in enumerate(zip(header, columns, strict=False))
            if c is None and not cell.strip() and any(i < len(row) and row[i].strip() for row in body)
        ]
        extra = [cell for cell, c in zip(header, columns, strict=False) if c is None and cell.strip()] + unnamed
        if extra:
            self.out.findings.append(
                finding(
                    "import-extra-column",
                    table.location(header_row + 1, " ".join(extra)),
                    f"「{'、'.join(extra)}」不是工作表「{spec.title}」的列，该列内容没有导入",
                    [Cell(spec.title)],
                )
            )
        present = {c for c in columns if c is not None}
        periods = [template.columns[j].target for j in present if template.columns[j].period]
        by_period = {column.name for where in periods if where for column in where.columns}  # 起止时间: start, end
        missing = [
            column.label
            for i, tc in enumerate(template.columns)
            if i not in present and tc.target and not tc.period
            for column in tc.target.columns
            if column.required and column.name not in by_period
        ]
        if missing:
            self.out.findings.append(
                finding(
                    "import-value-missing",
                    table.location(header_row + 1),
                    f"表格缺少「{'、'.join(missing)}」列，工作表「{spec.title}」的这些列留空，请补填",
                    [Cell(spec.title)],
                )
            )
        parts = [
            self._part_of(template, at, cell) if at is not None else None
            for cell, at in zip(header, columns, strict=False)
        ]
        units = [_unit_in(cell) for cell in header]  # 金额(万元): a bare 50 in it is 50 万元
        sums: dict[str, float] = {}
        normed = [norm(c) for c in header]  # a header repeated on a new page starts with the header's first cell
        for number, row in enumerate(body, start=header_row + (3 if continued else 2)):
            if not any(cell.strip() for cell in row) or (row[:1] == header[:1] and [norm(c) for c in row] == normed):
                continue  # an empty row, or the header repeated on a new page
            first = next(cell for cell in row if cell.strip())
            if norm(first) in TOTAL_WORDS:
                self._total(table, number, _with_units(row, units), template, columns, sums)
                continue
            record: dict[str, Any] = dict(template.fixed)
            place = table.location(number)
            for i, (cell, at) in enumerate(zip(row, columns, strict=False)):
                if at is None or template.columns[at].target is None:
                    continue
                joined = where = template.columns[at].target
                assert joined is not None and where is not None
                part = parts[i]
                if part is not None:  # a column of its own for one half of a date/name pair
                    where = Target(spec, (part,))
                if units[i] and where.columns[0].kind == "number":
                    cell = _with_unit(cell, units[i])
                if part is not None and all(_split_pair(cell, joined)):
                    where = joined  # 审核 holding 李四 and its date: both halves
                if template.columns[at].period:
                    period = split_period(cell)
                    if period is None and cell.strip():
                        self._set(Target(spec, where.columns[:1]), cell, place, record)
                    for column, text in zip(where.columns, period or (), strict=False):
                        self._set(Target(spec, (column,)), text, place, record)
                    continue
                self._set(where, template.columns[at].value(cell), place, record)
            for column in spec.columns:
                if isinstance(record.get(column.name), (int, float)):
                    sums[column.name] = sums.get(column.name, 0.0) + record[column.name]
            self.out.records.setdefault(spec.name, []).append(record)

    def _total(
        self,
        table: Table,
        number: int,
        row: tuple[str, ...],
        template: TemplateTable,
        columns: list[int | None],
        sums: dict[str, float],
    ) -> None:
        """A 合计 row is no record; a total that does not add up is reported."""
        for cell, at in zip(row, columns, strict=False):
            if at is None:
                continue
            for _, summed in (t for t in template.totals if t[0] == at):
                read = read_value(summed, cell)
                if isinstance(read.value, (int, float)) and abs(read.value - sums.get(summed.name, 0.0)) > 0.005:
                    self.out.findings.append(
                        finding(
                            "import-total-mismatch",
                            table.location(number),
                            f"合计「{cell}」与各行「{summed.label}」之和 {sums.get(summed.name, 0.0):g} 不一致；"
                            "合计由 opsdoc 计算，请核对各行的值",
                            [Cell(template.sheet.title)],
                        )
                    )

    # ------------------------------------------------------------ end

    def _finish(self) -> None:
        notes = SHEET_BY_NAME["notes"]
        for number, places in sorted(self.kept.items()):
            title = self.layout.chapters[number]
            self.out.findings.append(
                finding(
                    "import-text-kept",
                    places[0],
                    f"第{number}章（{title}）有 {len(places)} 段文字不是模板的固定文字或值，已放入「补充说明」（章节 {number}）："
                    "请核对，删去与其他工作表重复的，或移到对应的工作表",
                    [Cell(notes.title)],
                )
            )
        for (sheet, column, chapter), lines in self.lines.items():
            text = "\n".join(lines)
            if sheet == notes.name:
                self.out.records.setdefault(sheet, []).append({"chapter": chapter, "text": text})
            else:
                self.out.values.setdefault(sheet, {})[column] = text
        expected = {
            (t.sheet.name, c.name)
            for chapter in self.layout.slots
            for slot in chapter
            for t in _slot_targets(slot)
            for c in t.columns
            if not t.sheet.is_table
        }
        # What the document never says, one finding per sheet (a document in another shape misses many):
        # the values of a key-value sheet, with each cell; the tables, with each sheet.
        tables = [spec for spec in SHEETS if spec.is_table and spec.required and spec.name not in self.tables_seen]
        for spec in SHEETS:
            if spec.is_table:
                continue
            values = self.out.values.get(spec.name, {})
            missing = [
                wanted
                for wanted in spec.columns
                # an optional list of paragraphs may have none (本项目没有流程特例)
                if (wanted.required or wanted.kind != "paragraphs")
                and (spec.name, wanted.name) in expected
                and values.get(wanted.name) is None
            ]
            if missing:
                self.out.findings.append(
                    finding(
                        "import-value-missing",
                        None,
                        f"文档中没有找到「{spec.title}」的 {len(missing)} 项（{'、'.join(w.label for w in missing)}），"
                        "单元格留空，请在工作簿中填写",
                        [_cell(spec, wanted, None) for wanted in missing],
                    )
                )
        if tables:
            self.out.findings.append(
                finding(
                    "import-value-missing",
                    None,
                    f"文档中没有找到 {len(tables)} 个工作表的表格（{'、'.join(t.title for t in tables)}），请在工作簿中填写",
                    [Cell(t.title) for t in tables],
                )
            )


def _slot_targets(slot: Slot) -> list[Target]:
    if slot.sentence:
        return [t for t in slot.sentence.targets if t]
    if slot.lines:
        return [slot.lines]
    if isinstance(slot.table, Pairs):
        return [t for _, s in slot.table.rows for t in s.targets if t]
    return []


def _split_pair(text: str, where: Target) -> list[str]:
    """ "20260301/张三", "张三\n2026.3.1" or "王五/2024/1/5" as [date, name]: the part that reads as a date is
    the date, whichever side it stands on; one value alone is a date if it reads as one, else the name."""
    text = text.strip()
    if read_date(text):
        return [text, ""]
    cuts = [text.partition("\n")[::2]] if "\n" in text else []
    if "/" in text:
        cuts += [text.partition("/")[::2], text.rpartition("/")[::2]]
    for first, second in cuts:
        if read_date(first.strip()):
            return [first.strip(), second.strip()]
        if read_date(second.strip()):
            return [second.strip(), first.strip()]
    if cuts:
        return [cuts[-1][0].strip(), cuts[-1][1].strip()]
    return ["", text]


def _unit_in(header: str) -> str:
    """The unit a header gives its column: 金额(万元) → 万元."""
    found = re.search(r"\(([^()]*)\)\s*$", unicodedata.normalize("NFKC", header).strip())
    return found.group(1).strip() if found else ""


_BARE_NUMBER = re.compile(r"[-+]?\d[\d,，]*(?:\.\d+)?")


def _dated(text: str) -> bool:
    """A line that gives a date (2024.3.1, 二〇二四年三月), which no bare cover value (编制单位) is."""
    return read_date(text) is not None or bool(CHINESE_DATE.fullmatch(text.strip()))


def _continues(header: tuple[str, ...], row: tuple[str, ...]) -> bool:
    """Whether `row` is the second line of a two-row header: most of its cells repeat the header's above
    (cells merged down read as their text in every row they cover) and the rest name sub-columns."""
    filled = [(h, c) for h, c in zip(header, row, strict=False) if c.strip()]
    repeated = sum(norm(h) == norm(c) for h, c in filled)
    return bool(filled) and 0 < repeated < len(filled) and repeated * 2 >= len(filled)


def _with_unit(cell: str, unit: str) -> str:
    """A bare number under a header that names its unit (金额(万元): 50) with that unit (50万元)."""
    return cell.strip() + unit if unit and _BARE_NUMBER.fullmatch(cell.strip()) else cell


def _with_units(row: tuple[str, ...], units: list[str]) -> tuple[str, ...]:
    return tuple(_with_unit(cell, unit) for cell, unit in zip(row, [*units, *[""] * len(row)], strict=False))


def read_legacy(document: WordDocument, layout: Layout, synonyms: Synonyms | None = None) -> Imported:
    from opsdoc.contract.synonyms import bundled

    return LegacyReader(layout, synonyms or bundled()).read(document)


def summary(imported: Imported, layout: Layout, *, converted: bool = False) -> str:
    """The report's first line for a manager: how much was placed, by sheet; what is left to look at;
    and, plainly, when the document does not follow the template."""
    placed: dict[str, int] = {}
    for spec in SHEETS:
        if spec.is_table:
            count = sum(
                1
                for record in imported.records.get(spec.name, [])
                for key, value in record.items()
                if key != "chapter" and value not in (None, "")
            )
        else:
            count = sum(1 for value in imported.values.get(spec.name, {}).values() if value not in (None, ""))
        if count:
            placed[spec.title] = count
    codes = [f.code for f in imported.findings]
    paragraphs = codes.count("import-foreign-paragraph") + imported.kept
    tables = codes.count("import-unknown-table")
    chapters = len(layout.chapters) - 1
    line = f"放入 {sum(placed.values())} 个值" + (
        f"（{'、'.join(f'{title} {n}' for title, n in placed.items())}）" if placed else ""
    )
    line += f"；需要查看：{paragraphs} 段文字、{tables} 个表格" + ("（见下）" if paragraphs or tables else "")
    if converted:
        line = "（已由 LibreOffice 转换为 .docx）" + line
    if imported.chapters < chapters // 2:
        line += (
            f"。这份文档不是按公司模板写的：{chapters} 个章节只认出 {imported.chapters} 个，"
            "放入的值请逐一核对，其余内容按下面的提示填入工作簿"
        )
    return line
