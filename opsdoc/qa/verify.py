"""QA verification: re-read a .docx and report every way it differs from what the template promises.

The expectations come from the template itself (chapters, sub-sections, fixed paragraphs, page
setup, styles), so a company template is verified against its own text; with a workbook, every
value of the workbook must also be found in the document, as its column's render spec prints it.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from opsdoc.contract.findings import Cell, Finding, Place, Report, finding
from opsdoc.contract.model import SHEETS
from opsdoc.contract.vocabulary import CHAPTER_STYLE, PLACEHOLDER, REVISION_HEADER, SECTION_STYLE, parse_version
from opsdoc.generate.context import default_template
from opsdoc.office.docx_text import Paragraph, Table, WordDocument, read_document, shorten
from opsdoc.qa.align import opcodes
from opsdoc.qa.expectations import TEMPLATE_TAG, VERSION_LABEL, Expectations, read_expectations
from opsdoc.qa.pages import page_findings, read_pages, splittable_rows
from opsdoc.workbook.reader import Workbook, read_workbook

SIMILAR = 0.6  # a paragraph this close to a fixed one is that paragraph, edited
NEARBY = 200  # paragraphs either side of where a missing fixed one belongs that may be it, edited


# ---------------------------------------------------------------- the checks


def verify_document(
    docx_path: Path | str,
    template: Path | str | None = None,
    workbook: Path | str | Workbook | None = None,
    skip: Iterable[str] = (),
    pdf: Path | None = None,
) -> Report:
    """Every difference between a .docx and its template (and, given one, its workbook: a path, or one read already).

    With `pdf` (the document laid out), its pages are checked too (opsdoc.qa.pages).

    Raises UnusableDocument when the file is not a readable .docx (or the PDF not a PDF),
    TemplateError when the template is not, UnusableWorkbook when the workbook is not.
    """
    document = read_document(docx_path)
    expected = read_expectations(Path(template) if template else default_template())
    source = read_workbook(workbook) if isinstance(workbook, (Path, str)) else workbook
    values = expected_values(source) if source is not None and source.document is not None else []
    findings = list(_foreign(document, expected))
    if not findings:
        findings += _headings(document, expected)
        findings += _fixed_text(document, expected)
        findings += _residue(document, _typed_tags(values))
        findings += _unseen(document)
        findings += _versions(document, expected)
        findings += _page_setup(document, expected)
        findings += _styles(document, expected)
        if expected.has_toc and not document.has_toc:
            findings.append(
                finding(
                    "toc-missing", Place(part="body"), "文档中没有目录域（TOC），请从模板重新生成或在 Word 中插入目录"
                )
            )
        if source is not None:
            findings += _workbook_values(document, source, values, expected)
        if pdf is not None:  # the document as laid out: its pages, and rows that may break across them
            findings += page_findings(read_pages(pdf), expected.page)
            findings += _splittable(Path(docx_path))
    skipped = set(skip)
    return Report(str(docx_path), [f for f in findings if f.code not in skipped])


def _splittable(docx_path: Path) -> Iterator[Finding]:
    with zipfile.ZipFile(docx_path) as package:
        count = splittable_rows(package.read("word/document.xml"))
    if count:
        yield finding(
            "table-row-splittable",
            Place(part="body"),
            f"有 {count} 个表格行可以跨页断开：在模板中为这些行设置“不允许跨页断行”，一条记录才不会分在两页",
        )


def _foreign(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    """One clear finding instead of a hundred when the document has nothing of the template."""
    texts = {p.text.strip() for p in document.all_body_paragraphs()}
    if not texts & set(expected.chapters) and not texts & {t.strip() for t in expected.fixed_body}:
        yield finding(
            "foreign-document",
            Place(part="body"),
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
        "chapter",
        CHAPTER_STYLE,
        list(expected.chapters),
        chapter_labels,
        chapters,
        body,
        ignore={t for _, t in expected.sections},
    )
    yield from _align_headings(
        "section",
        SECTION_STYLE,
        [t for _, t in expected.sections],
        section_labels,
        sections,
        body,
        ignore=set(expected.chapters),
    )


def _align_headings(
    kind: str,
    style: str,
    expected: list[str],
    labels: list[str],
    found: list[Paragraph],
    body: list[Paragraph],
    ignore: set[str],
) -> Iterator[Finding]:
    """Missing, moved, renamed, restyled and extra headings, each reported once where it is (or belongs).

    `ignore`: titles of the other level, so a chapter styled Heading 2 is one chapter-style
    finding, not also an extra section.
    """
    titles = [p.text.strip() for p in found]
    wanted = set(expected)
    for op, i1, i2, j1, j2 in opcodes(expected, titles):
        if op == "equal":
            continue
        missing, extra = list(range(i1, i2)), list(range(j1, j2))
        # A renamed heading stands where the expected one should: neither title occurs elsewhere.
        renamed = list(
            zip(
                [i for i in missing if expected[i] not in titles],
                [j for j in extra if titles[j] not in wanted],
                strict=False,
            )
        )
        for i, j in renamed:
            yield finding(f"{kind}-title", found[j].location(), f"{labels[i]}的标题被改为「{titles[j]}」")
        missing = [i for i in missing if i not in {i for i, _ in renamed}]
        extra = [j for j in extra if j not in {j for _, j in renamed}]
        for i in missing:
            if expected[i] in titles:
                continue  # moved: reported where it stands
            restyled = next((p for p in body if p.text.strip() == expected[i] and p.style != style), None)
            if restyled is not None:
                yield finding(
                    f"{kind}-style", restyled.location(), f"{labels[i]}的样式是「{restyled.style}」，应为 {style}"
                )
                continue
            before = found[j2] if j2 < len(found) else None  # the next heading in its right place
            where = before.location() if before else Place(part="body", excerpt=expected[i])
            yield finding(
                f"{kind}-missing",
                where,
                f"缺少{labels[i]}（{style}）" + ("，应在此标题之前" if before else "，应在文末"),
            )
        for j in extra:
            if titles[j] in wanted:
                i = expected.index(titles[j])
                yield finding(f"{kind}-order", found[j].location(), f"{labels[i]}的位置与模板的顺序不符（或重复出现）")
            elif titles[j] not in ignore:
                yield finding(
                    f"{kind}-extra",
                    found[j].location(),
                    f"「{titles[j]}」不是模板中的{'章' if kind == 'chapter' else '小节'}（{style}）",
                )


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
        p
        for p in _in_template_order(document, expected)
        if p.text.strip() and not p.is_toc_entry and p.style not in (CHAPTER_STYLE, SECTION_STYLE)
    ]
    texts = [p.text for p in paragraphs]
    first: dict[str, int] = {}  # where each text first stands
    for j, text in enumerate(texts):
        first.setdefault(text, j)
    fixed = list(expected.fixed_body)
    for op, i1, i2, j1, j2 in opcodes(fixed, texts):
        if op in ("equal", "insert"):
            continue
        gap = set(range(j1, j2))
        for i in range(i1, i2):
            text = fixed[i]
            if text in first:
                moved = paragraphs[first[text]]
                yield finding("fixed-text-order", moved.location(), f"模板固定文字「{shorten(text)}」不在模板中的位置")
                continue
            # The edited paragraph stands where the fixed one belongs: look near there, not in
            # the whole stretch, so a long document costs the same per paragraph.
            at = j1 + (i - i1) * (j2 - j1) // (i2 - i1)
            nearby = [j for j in range(at - NEARBY, at + NEARBY + 1) if j in gap]
            likeness = {j: SequenceMatcher(None, text, texts[j]).ratio() for j in nearby}
            similar = max(likeness, key=lambda j: likeness[j], default=None)
            if similar is not None and likeness[similar] >= SIMILAR:
                gap.discard(similar)
                yield finding(
                    "fixed-text-changed",
                    paragraphs[similar].location(),
                    f"模板固定文字被改动，应为「{text}」",
                )
                continue
            before = paragraphs[j2] if j2 < len(paragraphs) else None
            where = before.location() if before else Place(part="body", excerpt=shorten(text))
            yield finding(
                "fixed-text-missing",
                where,
                f"缺少模板固定文字「{shorten(text)}」" + ("，应在此段之前" if before else "，应在文末"),
            )
    margins = {(p.part, p.text) for p in [*document.headers, *document.footers]}
    for part, text in expected.fixed_margins:
        if (part, text) not in margins:
            yield finding(
                "fixed-text-missing", Place(part=part, excerpt=shorten(text)), f"缺少模板固定文字「{shorten(text)}」"
            )


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
            yield finding(
                "template-tag", p.location(), f"残留模板标签「{tag.group()}」：文档未经渲染或渲染不完整，请重新生成"
            )
        placeholder = PLACEHOLDER.search(p.text)
        if placeholder:
            yield finding(
                "placeholder-text",
                p.location(),
                f"残留模板占位内容「{placeholder.group()}」，应替换为本项目的实际内容",
            )


def _unseen(document: WordDocument) -> Iterator[Finding]:
    """What verify cannot vouch for: text Word keeps but hides, and content Word imports on open."""
    for p in document.all_paragraphs():
        if p.hidden.strip():
            yield finding(
                "hidden-text",
                p.location(p.hidden),
                f"隐藏文字「{shorten(p.hidden)}」：打印和阅读时看不到，受控文档中不应有隐藏内容",
            )
    for where, part in document.imported:
        yield finding(
            "imported-content",
            where,
            f"文档在打开时导入部件 {part} 的内容（altChunk）：verify 无法核对这部分内容，"
            "请在 Word 中打开并另存为 .docx，使其成为正文",
        )


def _versions(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    cover = next((p for p in document.body_paragraphs() if VERSION_LABEL.search(p.text)), None)
    history = next((t for t in document.tables if t.rows and t.rows[0][0].strip() == REVISION_HEADER), None)
    margins = [p for p in [*document.headers, *document.footers] if VERSION_LABEL.search(p.text)]

    versions: list[tuple[str, Place, str]] = []  # (where, location, version)
    if cover is None:
        yield finding("version-missing", Place(part="body"), "封面上没有「版本号：」")
    else:
        versions.append(("封面", cover.location(), _version(cover.text)))
    if history is None:
        yield finding("version-missing", Place(part="body"), f"找不到文件版本历史表（首列表头为「{REVISION_HEADER}」）")
    else:
        rows = [
            (r, cells[0].strip()) for r, cells in enumerate(history.rows, start=1) if r > max(history.header_rows, 1)
        ]
        rows = [(r, v) for r, v in rows if v]
        if not rows:
            yield finding("version-missing", history.location(), "文件版本历史表没有任何版本记录")
        else:
            last_row, last = rows[-1]
            versions.append(("文件版本历史最后一行", history.location(last_row), last))
            yield from _revision_order(history, rows)
    if expected.version_in_margins and not margins:
        yield finding("version-missing", Place(part="footer"), "页眉页脚中没有「版本号：」")
    for p in margins:
        versions.append(("页眉" if p.part == "header" else "页脚", p.location(), _version(p.text)))
    if document.version:
        versions.append(("文档属性 version", Place(part="properties", excerpt=document.version), document.version))
    else:
        yield finding("version-missing", Place(part="properties", excerpt="version"), "文档属性中没有版本号（version）")

    if versions:
        reference_name, _, reference = versions[0]
        for name, location, version in versions[1:]:
            if version != reference:
                yield finding(
                    "version-mismatch", location, f"{name}的版本号是 {version}，{reference_name}是 {reference}"
                )


def _version(text: str) -> str:
    """The version after 版本号：, in a paragraph already found to have one."""
    match = VERSION_LABEL.search(text)
    return match.group(1) if match else ""


def _revision_order(history: Table, rows: list[tuple[int, str]]) -> Iterator[Finding]:
    previous: tuple[int, int] | None = None
    previous_text = ""
    for r, text in rows:
        key = parse_version(text)
        if key is None:
            yield finding("revision-order", history.location(r), f"「{text}」不是 V主版本.次版本 格式的版本号")
            continue
        if previous is not None and key <= previous:
            yield finding(
                "revision-order",
                history.location(r),
                f"版本 {text} 没有大于上一行的 {previous_text}：版本应自上而下递增",
            )
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
            problems.append(
                f"方向为{names.get(actual.orientation, actual.orientation)}，模板为{names.get(page.orientation, page.orientation)}"
            )
        for side, name in (("top", "上"), ("bottom", "下"), ("left", "左"), ("right", "右")):
            mine, theirs = getattr(actual, side), getattr(page, side)
            if mine != theirs:
                problems.append(f"{name}边距为 {_describe_length(mine)}，模板为 {_describe_length(theirs)}")
        if problems:
            yield finding("page-setup", Place(part="body", section=number), "；".join(problems))


def _styles(document: WordDocument, expected: Expectations) -> Iterator[Finding]:
    uses: Counter[str] = Counter()
    first: dict[str, Paragraph | Table] = {}  # where each style is first used; only that one is located
    for p in document.all_paragraphs():
        uses[p.style] += 1
        first.setdefault(p.style, p)
    for table in document.tables:
        if table.style:
            uses[table.style] += 1
            first.setdefault(table.style, table)
    defined = {
        name.casefold() for name in expected.styles
    }  # Word matches built-in names in any case ("toc 1", "TOC 1")
    for style, block in first.items():
        if style.casefold() not in defined:
            more = f"（共 {uses[style]} 处）" if uses[style] > 1 else ""
            yield finding("unknown-style", block.location(), f"样式「{style}」不是模板定义的样式{more}")


# ---------------------------------------------------------------- nothing lost from the workbook


@dataclass(frozen=True)
class ExpectedValue:
    """A workbook value as the document must show it."""

    location: Cell  # its sheet and cell
    column: str
    lines: tuple[str, ...]  # the rendered text; one line per paragraph of a multi-line cell
    record: tuple[str, int] | None = None  # (sheet, row index): looked for in one table row
    chapter: int | None = None  # 补充说明: the chapter its text must stand in
    chapter_location: Cell | None = None

    def shown_in(self, text: str) -> bool:
        return all(line in text for line in self.lines)


def _lines(shown: str | list[str]) -> tuple[str, ...]:
    return tuple(shown) if isinstance(shown, list) else (shown,)


def expected_values(workbook: Workbook) -> list[ExpectedValue]:
    """Every non-empty workbook value with the text the document shows for it (its column's render spec).

    Of the values that place their record: a 补充说明's 章节 is checked by the chapter its text
    stands in; a 质量与验收 类型 must show in its row or in the caption of its table.
    """
    document = workbook.document
    assert document is not None
    values: list[ExpectedValue] = []
    for spec in SHEETS:
        data = getattr(document, spec.name)
        records = list(enumerate(data)) if spec.is_table else [(None, data)]
        chapter = next((c.name for c in spec.columns if c.places and c.kind == "number"), None)
        for index, item in records:
            path = () if index is None else (index,)
            for column in spec.columns:
                value = getattr(item, column.name)
                if column.name == chapter or value is None or value == "" or value == []:
                    continue
                values.append(
                    ExpectedValue(
                        workbook.cells.at(spec.name, *path, column.name),
                        column.label,
                        _lines(column.shown.show(value)),
                        None if chapter or index is None else (spec.title, index),
                        chapter=getattr(item, chapter) if chapter else None,
                        chapter_location=workbook.cells.at(spec.name, *path, chapter) if chapter else None,
                    )
                )
    return values


def _workbook_values(
    document: WordDocument, workbook: Workbook, values: list[ExpectedValue], expected: Expectations
) -> Iterator[Finding]:
    if workbook.document is None:
        errors = sum(f.is_error for f in workbook.findings)
        yield finding(
            "workbook-invalid",
            None,
            f"工作簿 {workbook.path.name} 有 {errors} 个错误，无法核对文档内容：请先运行 opsdoc check 并改正",
        )
        return
    rows = _record_rows(document, [v for v in values if v.record])
    # Elsewhere than in the records' own rows: a 部门经理 named only as a 审核人 is still lost.
    taken = {(table.number, r) for table, r in rows.values()}  # by number: hashing a Table hashes all its rows
    everything = "\n".join(
        [
            *(p.text for p in document.body_paragraphs()),
            *(p.text for p in [*document.headers, *document.footers]),
            *(
                "\n".join(cells)
                for t in document.tables
                for r, cells in enumerate(t.rows, start=1)
                if (t.number, r) not in taken
            ),
        ]
    )
    for value in values:
        if value.record and value.record in rows:
            table, r = rows[value.record]
            shown_at = "\n".join(table.rows[r - 1]) + "\n" + table.caption
            if not value.shown_in(shown_at):
                missing = next(line for line in value.lines if line not in shown_at)
                yield finding(
                    "value-missing",
                    value.location,
                    f"{value.column}「{shorten(missing)}」没有出现在文档中该记录所在的行（表{table.number}第{r}行）",
                    related=[Place(part="body", table=table.number, row=r, excerpt=shorten(missing))],
                )
        elif not value.shown_in(everything):
            missing = next(line for line in value.lines if line not in everything)
            yield finding(
                "value-missing",
                value.location,
                f"{value.column}「{shorten(missing)}」没有出现在文档中",
            )
        elif value.chapter is not None and not value.shown_in(_chapter_text(document, expected, value.chapter)):
            yield finding(
                "value-misplaced",
                value.chapter_location,
                f"补充说明「{shorten(value.lines[0])}」没有出现在第{value.chapter}章",
            )


def _record_rows(document: WordDocument, values: list[ExpectedValue]) -> dict[tuple[str, int], tuple[Table, int]]:
    """Each table record's document row: the row showing most of its values, each row used once."""
    records: dict[tuple[str, int], list[ExpectedValue]] = {}
    for value in values:
        if value.record is not None:  # the caller passes only values with a record
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
    inside, lines = title not in headings, list[str]()
    for block in document.body:
        if isinstance(block, Paragraph) and block.style == CHAPTER_STYLE and title in headings:
            inside = block.text.strip() == title
        elif inside:
            lines.extend(p.text for p in (block.paragraphs if isinstance(block, Table) else (block,)))
    return "\n".join(lines)
