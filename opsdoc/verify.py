"""QA verification: re-read a .docx and report every way it differs from what the template promises.

The expectations come from the template itself (chapters, sub-sections, fixed paragraphs, page
setup, styles), so a company template is verified against its own text; with a workbook, every
value of the workbook must also be found in the document, as build_context renders it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Iterable, Iterator

from opsdoc.document_text import PageSetup, Paragraph, Table, WordDocument, read_document, shorten
from opsdoc.errors import TemplateError, UnusableDocument
from opsdoc.model import SHEETS
from opsdoc.context import RENDERED_AS, build_context, default_template
from opsdoc.report import Finding, Location, Report, Severity
from opsdoc.workbook import PLACEHOLDER, Workbook, read_workbook

CHAPTER_STYLE, SECTION_STYLE = "Heading 1", "Heading 2"
TEMPLATE_TAG = re.compile(r"\{\{|\{%|\{#")
# docxtpl block tags ({%p for …%}, {%tr if …%}, {% endfor %}): what lies between them may repeat or vanish.
BLOCK_TAG = re.compile(r"\{%-?\s*(?:p|tr|tc|r)?\s*(for|if|endfor|endif)\b")
VERSION_LABEL = re.compile(r"版本号[:：]\s*([^\s]+)")
VERSION_NUMBER = re.compile(r"[Vv]?(\d+(?:\.\d+)*)")
REVISION_HEADER = "文件版本"  # first header cell of the 文件版本历史 table
SIMILAR = 0.6  # a paragraph this close to a fixed one is that paragraph, edited


@dataclass(frozen=True)
class VerifyCode:
    code: str
    severity: Severity
    title: str


VERIFY_CODES: dict[str, VerifyCode] = {}
"""Every verify finding code with its severity and title; codes are stable for QA scripts."""

for _code, _severity, _title in [
    ("foreign-document", "E", "不是按该模板生成的文档：没有任何一章的标题，也没有模板的固定文字"),
    ("chapter-missing", "E", "缺少模板中的一章（Heading 1）"),
    ("chapter-order", "E", "章的顺序与模板不同"),
    ("chapter-title", "E", "章标题与模板不同"),
    ("chapter-style", "E", "章标题不是 Heading 1 样式"),
    ("chapter-extra", "E", "模板中没有的章（Heading 1）"),
    ("section-missing", "E", "缺少模板中的小节（Heading 2）"),
    ("section-order", "E", "小节的顺序与模板不同"),
    ("section-title", "E", "小节标题与模板不同"),
    ("section-style", "E", "小节标题不是 Heading 2 样式"),
    ("section-extra", "E", "模板中没有的小节（Heading 2）"),
    ("fixed-text-missing", "E", "缺少模板的固定文字"),
    ("fixed-text-changed", "E", "模板的固定文字被改动"),
    ("fixed-text-order", "E", "模板的固定文字不在模板中的位置"),
    ("template-tag", "E", "残留模板标签 {{、{%、{#"),
    ("placeholder-text", "E", "残留占位内容：XXX、XX、Vx.y、YYYYMMDD、【…】、编制人姓名…"),
    ("version-missing", "E", "封面、文件版本历史、页眉页脚或文档属性中没有版本号"),
    ("version-mismatch", "E", "版本号不一致：封面、文件版本历史最后一行、页眉页脚、文档属性"),
    ("revision-order", "E", "文件版本历史的版本号不是严格递增的 V主版本.次版本"),
    ("page-setup", "E", "纸张大小、方向或页边距与模板不同"),
    ("unknown-style", "E", "使用了模板没有定义的段落或表格样式"),
    ("toc-missing", "E", "没有目录域（TOC）"),
    ("workbook-invalid", "E", "工作簿有错误，无法核对文档内容"),
    ("value-missing", "E", "工作簿中的值没有出现在文档中"),
    ("value-misplaced", "E", "补充说明没有出现在工作簿指定的章"),
]:
    VERIFY_CODES[_code] = VerifyCode(_code, Severity(_severity), _title)


def _finding(code: str, location: Location, message: str) -> Finding:
    return Finding(code, VERIFY_CODES[code].severity, location, message)


# ---------------------------------------------------------------- what the template promises


@dataclass(frozen=True)
class Expectations:
    chapters: tuple[str, ...]
    sections: tuple[tuple[int, str], ...]  # (chapter number, title) of each Heading 2, in order
    fixed_body: tuple[str, ...]  # body paragraphs without tags, outside loops and conditions
    fixed_margins: tuple[tuple[str, str], ...]  # the same for headers and footers: (part, text)
    page: PageSetup | None  # None: the template leaves the page to Word's defaults
    styles: frozenset[str]
    version_in_margins: bool  # the header or footer shows 版本号
    has_toc: bool


def read_expectations(template: Path) -> Expectations:
    """What every document made from `template` must contain."""
    try:
        source = read_document(template)
    except UnusableDocument as exc:
        raise TemplateError(template, f"Word 模板无法读取：{exc.message}") from exc
    chapters, sections = [], []
    for p in source.body_paragraphs():
        if p.style == CHAPTER_STYLE:
            chapters.append(p.text.strip())
        elif p.style == SECTION_STYLE:
            sections.append((len(chapters), p.text.strip()))
    margins = [*source.headers, *source.footers]
    return Expectations(
        chapters=tuple(chapters),
        sections=tuple(sections),
        fixed_body=tuple(_fixed(source.all_body_paragraphs())),
        fixed_margins=tuple((p, t) for p, part in (("header", source.headers), ("footer", source.footers)) for t in _fixed(part)),
        page=source.sections[0] if source.sections else None,
        styles=frozenset(source.defined_styles),
        version_in_margins=any(VERSION_LABEL.search(p.text) for p in margins),
        has_toc=source.has_toc,
    )


def _fixed(paragraphs: Iterable[Paragraph]) -> Iterator[str]:
    """Paragraphs every rendering keeps word for word: no tag, and not inside a loop or condition."""
    depth = 0
    for p in paragraphs:
        blocks = BLOCK_TAG.findall(p.text)
        fixed = depth == 0 and not TEMPLATE_TAG.search(p.text)
        depth += sum(1 if tag in ("for", "if") else -1 for tag in blocks)
        if fixed and p.text.strip() and not p.is_toc_entry and p.style not in (CHAPTER_STYLE, SECTION_STYLE):
            yield p.text


# ---------------------------------------------------------------- the checks


def verify_document(
    docx_path: Path | str, template: Path | str | None = None, workbook: Path | str | None = None
) -> Report:
    """Every difference between a .docx and its template (and, given one, its workbook).

    Raises UnusableDocument when the file is not a readable .docx, TemplateError when the
    template is not, UnusableWorkbook when the workbook is not.
    """
    document = read_document(docx_path)
    expected = read_expectations(Path(template) if template else default_template())
    source = read_workbook(workbook) if workbook is not None else None
    values = _expected_values(source) if source is not None and source.document is not None else []
    findings = list(_foreign(document, expected))
    if not findings:
        findings += _headings(document, expected)
        findings += _fixed_text(document, expected)
        findings += _residue(document, _typed_tags(values))
        findings += _versions(document, expected)
        findings += _page_setup(document, expected)
        findings += _styles(document, expected)
        if expected.has_toc and not document.has_toc:
            findings.append(_finding("toc-missing", Location(part="body"), "文档中没有目录域（TOC），请从模板重新生成或在 Word 中插入目录"))
        if source is not None:
            findings += _workbook_values(document, source, values, expected)
    return Report(str(docx_path), findings)


def _foreign(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    """One clear finding instead of a hundred when the document has nothing of the template."""
    texts = {p.text.strip() for p in document.all_body_paragraphs()}
    if not texts & set(expected.chapters) and not texts & {t.strip() for t in expected.fixed_body}:
        yield _finding(
            "foreign-document",
            Location(part="body"),
            f"文档中没有模板的任何一章（{expected.chapters[0] if expected.chapters else '—'} …）或固定文字："
            "它不是按该模板生成的，请确认文件和 --template 是否选对",
        )


def _headings(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    body = document.body_paragraphs()
    chapters = [p for p in body if p.style == CHAPTER_STYLE]
    sections = [p for p in body if p.style == SECTION_STYLE]
    chapter_labels = [f"第{n}章「{title}」" for n, title in enumerate(expected.chapters, start=1)]
    section_labels = [f"第{n}章的小节「{title}」" for n, title in expected.sections]
    yield from _align_headings(
        "chapter", CHAPTER_STYLE, list(expected.chapters), chapter_labels, chapters, body,
        ignore={t for _, t in expected.sections},
    )
    yield from _align_headings(
        "section", SECTION_STYLE, [t for _, t in expected.sections], section_labels, sections, body,
        ignore=set(expected.chapters),
    )


def _align_headings(
    kind: str, style: str, expected: list[str], labels: list[str], found: list[Paragraph],
    body: list[Paragraph], ignore: set[str],
) -> Iterator[Finding]:
    """Missing, moved, renamed, restyled and extra headings, each reported once where it is (or belongs).

    `ignore`: titles of the other level, so a chapter styled Heading 2 is one chapter-style
    finding, not also an extra section.
    """
    titles = [p.text.strip() for p in found]
    wanted = set(expected)
    matcher = SequenceMatcher(None, expected, titles, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        missing, extra = list(range(i1, i2)), list(range(j1, j2))
        # A renamed heading stands where the expected one should: neither title occurs elsewhere.
        renamed = list(zip([i for i in missing if expected[i] not in titles], [j for j in extra if titles[j] not in wanted]))
        for i, j in renamed:
            yield _finding(f"{kind}-title", found[j].location(), f"{labels[i]}的标题被改为「{titles[j]}」")
        missing = [i for i in missing if i not in {i for i, _ in renamed}]
        extra = [j for j in extra if j not in {j for _, j in renamed}]
        for i in missing:
            if expected[i] in titles:
                continue  # moved: reported where it stands
            restyled = next((p for p in body if p.text.strip() == expected[i] and p.style != style), None)
            if restyled is not None:
                yield _finding(f"{kind}-style", restyled.location(), f"{labels[i]}的样式是「{restyled.style}」，应为 {style}")
                continue
            before = found[j2] if j2 < len(found) else None  # the next heading in its right place
            where = before.location() if before else Location(part="body", excerpt=expected[i])
            yield _finding(
                f"{kind}-missing", where,
                f"缺少{labels[i]}（{style}）" + ("，应在此标题之前" if before else "，应在文末"),
            )
        for j in extra:
            if titles[j] in wanted:
                i = expected.index(titles[j])
                yield _finding(f"{kind}-order", found[j].location(), f"{labels[i]}的位置与模板的顺序不符（或重复出现）")
            elif titles[j] not in ignore:
                yield _finding(f"{kind}-extra", found[j].location(), f"「{titles[j]}」不是模板中的{'章' if kind == 'chapter' else '小节'}（{style}）")


def _in_template_order(document: WordDocument, expected: Expectations) -> list[Paragraph]:
    """Body paragraphs with the chapters put back in the template's order.

    A moved chapter is one chapter-order finding; its fixed text is then compared where the
    chapter belongs, not reported again paragraph by paragraph. A chapter the template lacks
    stays behind the one before it.
    """
    spans: list[tuple[int, list[Paragraph]]] = [(-1, [])]  # the front matter comes first
    for block in document.body:
        paragraphs = block.paragraphs if isinstance(block, Table) else (block,)
        if isinstance(block, Paragraph) and block.style == CHAPTER_STYLE:
            title = block.text.strip()
            rank = expected.chapters.index(title) if title in expected.chapters else spans[-1][0]
            spans.append((rank, []))
        spans[-1][1].extend(paragraphs)
    ordered = sorted(spans, key=lambda span: span[0])  # stable: equal ranks keep document order
    return [p for _, paragraphs in ordered for p in paragraphs]


def _fixed_text(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    paragraphs = [
        p for p in _in_template_order(document, expected)
        if p.text.strip() and not p.is_toc_entry and p.style not in (CHAPTER_STYLE, SECTION_STYLE)
    ]
    texts = [p.text for p in paragraphs]
    present = set(texts)
    fixed = list(expected.fixed_body)
    matcher = SequenceMatcher(None, fixed, texts, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("equal", "insert"):
            continue
        gap = list(range(j1, j2))
        for i in range(i1, i2):
            text = fixed[i]
            if text in present:
                where = paragraphs[texts.index(text)]
                yield _finding("fixed-text-order", where.location(), f"模板固定文字「{shorten(text)}」不在模板中的位置")
                continue
            likeness = {j: SequenceMatcher(None, text, texts[j]).ratio() for j in gap}
            similar = max(likeness, key=likeness.get, default=None)
            if similar is not None and likeness[similar] >= SIMILAR:
                gap.remove(similar)
                yield _finding(
                    "fixed-text-changed", paragraphs[similar].location(),
                    f"模板固定文字被改动，应为「{text}」",
                )
                continue
            before = paragraphs[j2] if j2 < len(paragraphs) else None
            where = before.location() if before else Location(part="body", excerpt=shorten(text))
            yield _finding(
                "fixed-text-missing", where,
                f"缺少模板固定文字「{shorten(text)}」" + ("，应在此段之前" if before else "，应在文末"),
            )
    margins = {(p.part, p.text) for p in [*document.headers, *document.footers]}
    for part, text in expected.fixed_margins:
        if (part, text) not in margins:
            yield _finding("fixed-text-missing", Location(part=part, excerpt=shorten(text)), f"缺少模板固定文字「{shorten(text)}」")


def _typed_tags(values: list[ExpectedValue]) -> list[str]:
    """Workbook text that itself contains {{, {% or {#: data typed as such, not template residue."""
    lines = {line for value in values for line in value.lines if TEMPLATE_TAG.search(line)}
    return sorted(lines, key=len, reverse=True)


def _residue(document: WordDocument, typed: list[str]) -> Iterator[Finding]:
    for p in document.all_paragraphs():
        if p.is_toc_entry:
            continue  # the TOC repeats the headings, which are checked themselves
        text = p.text
        for line in typed:
            text = text.replace(line, "")
        tag = TEMPLATE_TAG.search(text)
        if tag:
            yield _finding("template-tag", p.location(), f"残留模板标签「{tag.group()}」：文档未经渲染或渲染不完整，请重新生成")
        placeholder = PLACEHOLDER.search(p.text)
        if placeholder:
            yield _finding(
                "placeholder-text", p.location(),
                f"残留模板占位内容「{placeholder.group()}」，应替换为本项目的实际内容",
            )


def _version_key(text: str) -> tuple[int, ...] | None:
    match = VERSION_NUMBER.fullmatch(text.strip())
    return tuple(int(n) for n in match.group(1).split(".")) if match else None


def _versions(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    cover = next((p for p in document.body_paragraphs() if VERSION_LABEL.search(p.text)), None)
    history = next((t for t in document.tables if t.rows and t.rows[0][0].strip() == REVISION_HEADER), None)
    margins = [p for p in [*document.headers, *document.footers] if VERSION_LABEL.search(p.text)]

    versions: list[tuple[str, Location, str]] = []  # (where, location, version)
    if cover is None:
        yield _finding("version-missing", Location(part="body"), "封面上没有「版本号：」")
    else:
        versions.append(("封面", cover.location(), VERSION_LABEL.search(cover.text).group(1)))
    if history is None:
        yield _finding("version-missing", Location(part="body"), f"找不到文件版本历史表（首列表头为「{REVISION_HEADER}」）")
    else:
        rows = [(r, cells[0].strip()) for r, cells in enumerate(history.rows, start=1) if r > max(history.header_rows, 1)]
        rows = [(r, v) for r, v in rows if v]
        if not rows:
            yield _finding("version-missing", history.location(), "文件版本历史表没有任何版本记录")
        else:
            last_row, last = rows[-1]
            versions.append(("文件版本历史最后一行", history.location(last_row), last))
            yield from _revision_order(history, rows)
    if expected.version_in_margins and not margins:
        yield _finding("version-missing", Location(part="footer"), "页眉页脚中没有「版本号：」")
    for p in margins:
        versions.append(("页眉" if p.part == "header" else "页脚", p.location(), VERSION_LABEL.search(p.text).group(1)))
    if document.version:
        versions.append(("文档属性 version", Location(part="properties", excerpt=document.version), document.version))
    else:
        yield _finding("version-missing", Location(part="properties", excerpt="version"), "文档属性中没有版本号（version）")

    if versions:
        reference_name, _, reference = versions[0]
        for name, location, version in versions[1:]:
            if version != reference:
                yield _finding("version-mismatch", location, f"{name}的版本号是 {version}，{reference_name}是 {reference}")


def _revision_order(history: Table, rows: list[tuple[int, str]]) -> Iterator[Finding]:
    previous: tuple[int, ...] | None = None
    previous_text = ""
    for r, text in rows:
        key = _version_key(text)
        if key is None:
            yield _finding("revision-order", history.location(r), f"「{text}」不是 V主版本.次版本 格式的版本号")
            continue
        if previous is not None and key <= previous:
            yield _finding("revision-order", history.location(r), f"版本 {text} 没有大于上一行的 {previous_text}：版本应自上而下递增")
        previous, previous_text = key, text


def _describe_length(twips: int | None) -> str:
    return "未设置" if twips is None else f"{twips / 567:.2f} 厘米"


def _page_setup(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    page = expected.page
    if page is None:
        return
    for number, actual in enumerate(document.sections, start=1):
        problems = []
        if (actual.width, actual.height) != (page.width, page.height):
            problems.append(
                f"纸张为 {_describe_length(actual.width)}×{_describe_length(actual.height)}，"
                f"模板为 {_describe_length(page.width)}×{_describe_length(page.height)}"
            )
        if actual.orientation != page.orientation:
            names = {"portrait": "纵向", "landscape": "横向"}
            problems.append(f"方向为{names.get(actual.orientation, actual.orientation)}，模板为{names.get(page.orientation, page.orientation)}")
        for side, name in (("top", "上"), ("bottom", "下"), ("left", "左"), ("right", "右")):
            mine, theirs = getattr(actual, side), getattr(page, side)
            if mine != theirs:
                problems.append(f"{name}边距为 {_describe_length(mine)}，模板为 {_describe_length(theirs)}")
        if problems:
            yield _finding("page-setup", Location(part="body", section=number), "；".join(problems))


def _styles(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    uses: dict[str, list[Location]] = {}
    for p in document.all_paragraphs():
        uses.setdefault(p.style, []).append(p.location())
    for table in document.tables:
        if table.style:
            uses.setdefault(table.style, []).append(table.location())
    defined = {name.casefold() for name in expected.styles}  # Word matches built-in names in any case ("toc 1", "TOC 1")
    for style, locations in uses.items():
        if style.casefold() not in defined:
            more = f"（共 {len(locations)} 处）" if len(locations) > 1 else ""
            yield _finding("unknown-style", locations[0], f"样式「{style}」不是模板定义的样式{more}")


# ---------------------------------------------------------------- nothing lost from the workbook



@dataclass(frozen=True)
class ExpectedValue:
    """A workbook value as the document must show it."""

    location: Location  # its sheet and cell
    column: str
    lines: tuple[str, ...]  # the rendered text; one line per paragraph of a multi-line cell
    record: tuple[str, int] | None = None  # (sheet, row index): looked for in one table row
    chapter: int | None = None  # 补充说明: the chapter its text must stand in
    chapter_location: Location | None = None

    def shown_in(self, text: str) -> bool:
        return all(line in text for line in self.lines)


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def _lines(rendered) -> tuple[str, ...]:
    return tuple(rendered) if isinstance(rendered, list) else (str(rendered),)


def _expected_values(workbook: Workbook) -> list[ExpectedValue]:
    """Every non-empty workbook value with the text the document shows for it.

    Values the document does not print verbatim are placed deliberately: dates, numbers and
    the "日期/姓名" cells come from build_context; a 补充说明's 章节 is checked by where its
    text stands; 质量与验收's 类型 is shown in its row (过程质量, 结果质量) or by the caption of
    its table (验收标准：, 归档文档：); a 风险等级 left empty is derived, not a workbook value.
    """
    document = workbook.document
    context = build_context(document)
    values: list[ExpectedValue] = []
    for spec in SHEETS:
        data = getattr(document, spec.name)
        if spec.name == "notes":
            for index, note in enumerate(data):
                values.append(ExpectedValue(
                    workbook.location("notes", index, "text"), "正文", tuple(note.text),
                    chapter=note.chapter, chapter_location=workbook.location("notes", index, "chapter"),
                ))
            continue
        if spec.name == "quality":
            for index, item in enumerate(data):
                record = (spec.title, index)
                for column in spec.columns:
                    value = getattr(item, column.name)
                    if not _is_empty(value):  # content and basis render verbatim
                        values.append(ExpectedValue(workbook.location("quality", index, column.name), column.label, _lines(value), record))
            continue
        key, renamed = RENDERED_AS[spec.name]
        rendered_records = context[key] if spec.is_table else [context[key]]
        records = data if spec.is_table else [data]
        for index, (item, rendered) in enumerate(zip(records, rendered_records)):
            for column in spec.columns:
                if _is_empty(getattr(item, column.name)):
                    continue
                path = (index, column.name) if spec.is_table else (column.name,)
                target = renamed.get(column.name, column.name)
                shown = rendered[target] if isinstance(target, str) else rendered[target[0]].split("/", 1)[target[1]]
                values.append(ExpectedValue(
                    workbook.location(spec.name, *path), column.label, _lines(shown),
                    (spec.title, index) if spec.is_table else None,
                ))
    return values


def _workbook_values(
    document: WordDocument, workbook: Workbook, values: list[ExpectedValue], expected: Expectations
) -> Iterator[Finding]:
    if workbook.document is None:
        errors = sum(f.is_error for f in workbook.findings)
        yield _finding(
            "workbook-invalid", Location(),
            f"工作簿 {workbook.path.name} 有 {errors} 个错误，无法核对文档内容：请先运行 opsdoc check 并改正",
        )
        return
    rows = _record_rows(document, [v for v in values if v.record])
    # Elsewhere than in the records' own rows: a 部门经理 named only as a 审核人 is still lost.
    taken = {(table.number, r) for table, r in rows.values()}  # by number: hashing a Table hashes all its rows
    everything = "\n".join([
        *(p.text for p in document.body_paragraphs()),
        *(p.text for p in [*document.headers, *document.footers]),
        *("\n".join(cells) for t in document.tables for r, cells in enumerate(t.rows, start=1) if (t.number, r) not in taken),
    ])
    for value in values:
        if value.record and value.record in rows:
            table, r = rows[value.record]
            shown_at = "\n".join(table.rows[r - 1]) + "\n" + table.caption
            if not value.shown_in(shown_at):
                missing = next(line for line in value.lines if line not in shown_at)
                yield _finding(
                    "value-missing",
                    dataclasses.replace(value.location, part="body", table=table.number, row=r, excerpt=shorten(missing)),
                    f"{value.column}「{shorten(missing)}」没有出现在文档中该记录所在的行（表{table.number}第{r}行）",
                )
        elif not value.shown_in(everything):
            missing = next(line for line in value.lines if line not in everything)
            yield _finding(
                "value-missing", dataclasses.replace(value.location, excerpt=shorten(missing)),
                f"{value.column}「{shorten(missing)}」没有出现在文档中",
            )
        elif value.chapter is not None and not value.shown_in(_chapter_text(document, expected, value.chapter)):
            yield _finding(
                "value-misplaced", dataclasses.replace(value.chapter_location, excerpt=shorten(value.lines[0])),
                f"补充说明「{shorten(value.lines[0])}」没有出现在第{value.chapter}章",
            )


def _record_rows(document: WordDocument, values: list[ExpectedValue]) -> dict[tuple[str, int], tuple[Table, int]]:
    """Each table record's document row: the row showing most of its values, each row used once."""
    records: dict[tuple[str, int], list[ExpectedValue]] = {}
    for value in values:
        records.setdefault(value.record, []).append(value)
    rows = [
        (table, r, "\n".join(cells) + "\n" + table.caption)
        for table in document.tables
        for r, cells in enumerate(table.rows, start=1)
        if r > table.header_rows
    ]
    # Each row by the pieces of its cells (as the renderer joins them: lines, 日期/姓名, 至), so
    # a record is scored only against the rows holding its rarest value, not against every row.
    rows_with: dict[str, set[int]] = {}
    for position, (_, _, text) in enumerate(rows):
        for piece in re.split(r"[\n/至]", text):
            rows_with.setdefault(piece.strip(), set()).add(position)
    candidates = []
    for order, (record, record_values) in enumerate(records.items()):
        postings = [rows_with[line] for v in record_values for line in v.lines if line in rows_with]
        for position in min(postings, key=len, default=()):
            score = sum(v.shown_in(rows[position][2]) for v in record_values)
            if score:
                candidates.append((-score, order, position, record))
    assigned: dict[tuple[str, int], tuple[Table, int]] = {}
    taken: set[int] = set()
    for _, _, position, record in sorted(candidates, key=lambda c: c[:3]):
        if record not in assigned and position not in taken:
            table, r, _ = rows[position]
            assigned[record] = (table, r)
            taken.add(position)
    return assigned


def _chapter_text(document: WordDocument, expected: Expectations, chapter: int) -> str:
    """The text under the template's n-th chapter title, tables included.

    When that heading is missing, chapter-missing says so; the whole body stands in for it.
    """
    title = expected.chapters[chapter - 1] if chapter <= len(expected.chapters) else None
    headings = [b.text.strip() for b in document.body if isinstance(b, Paragraph) and b.style == CHAPTER_STYLE]
    inside, lines = title not in headings, []
    for block in document.body:
        if isinstance(block, Paragraph) and block.style == CHAPTER_STYLE and title in headings:
            inside = block.text.strip() == title
        elif inside:
            lines.extend(p.text for p in (block.paragraphs if isinstance(block, Table) else (block,)))
    return "\n".join(lines)
