"""An annotated copy of the manager's workbook: findings as notes and fills on their cells, and a list.

The manager works in Excel or WPS; the copy puts each finding where it is to be fixed, and
a first sheet 检查结果 lists them all with links. The copy stays a workbook the reader
accepts (检查结果 is not a contract sheet; notes and fills are not values), so the manager
can fix the copy and check it again.

openpyxl keeps values, formulas, styles, data validations, hidden sheets, frozen panes and
column widths, but writes formulas without their cached results, which the reader needs
(it reads what Excel shows). Those results are put back from the original's XML afterwards.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook as Book
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from opsdoc.contract.findings import Cell, Finding, Report
from opsdoc.contract.model import Document
from opsdoc.contract.vocabulary import Severity
from opsdoc.errors import UnusableWorkbook
from opsdoc.office.output import deterministic_zip
from opsdoc.office.xlsx import sheet_parts
from opsdoc.office.xlsx_write import as_data

RESULTS_SHEET = "检查结果"
AUTHOR = "opsdoc"
HEADER = ("严重程度", "工作表", "单元格", "代码", "说明")
MAX_MARKED = 500  # cells filled for one range finding: a whole-column range must not bloat the copy

# Fills by rank: a finding's own cell, then a cell it names as 另见 (lighter); the worst rank wins.
FILLS = {
    (Severity.ERROR, False): "F8A5A5",  # red
    (Severity.WARNING, False): "FFD27F",  # amber
    (Severity.ERROR, True): "FCE4E4",
    (Severity.WARNING, True): "FFF1D6",
}
RANK = [(Severity.ERROR, False), (Severity.WARNING, False), (Severity.ERROR, True), (Severity.WARNING, True)]


@dataclass
class Mark:
    """One reason a cell is marked: the finding, and whether the cell is only named by it (另见)."""

    finding: Finding
    related: bool

    @property
    def rank(self) -> int:
        return RANK.index((self.finding.severity, self.related))

    @property
    def text(self) -> str:
        f = self.finding
        if self.related:
            return f"另见 {f.location}：{f.severity.label} [{f.code}] {f.message}"
        return f"{f.severity.label} [{f.code}] {f.message}"


def annotate(source: Path, report: Report, document: Document | None) -> bytes:
    """The bytes of the annotated copy of `source`; the same workbook and report give the same bytes."""
    try:
        book = openpyxl.load_workbook(source)
    except Exception as exc:  # the reader accepted it, but openpyxl may still refuse a damaged part
        raise UnusableWorkbook(source, f"无法生成标注副本：工作簿无法读取（{type(exc).__name__}: {exc}）") from None
    if RESULTS_SHEET in book.sheetnames:  # annotating an annotated copy: its old list is out of date
        del book[RESULTS_SHEET]
    _forget_old_notes(book)
    _mark_cells(book, report)
    _list_findings(book, source, report, document)
    packed = io.BytesIO()
    book.save(packed)
    with zipfile.ZipFile(source) as original:
        return deterministic_zip(_restore_from(original, source, packed.getvalue()))


# ---------------------------------------------------------------- notes and fills on the cells


def _forget_old_notes(book: Book) -> None:
    """Notes of an earlier annotation are stale; the manager's own notes stay."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.comment is not None and cell.comment.author == AUTHOR:
                    cell.comment = None


def _cells_of(book: Book, location: Cell) -> tuple[str, list[str]] | None:
    """The cell that takes the note, and every cell to fill; None when the place is not in the book."""
    if location.cell is None or location.sheet not in book.sheetnames:
        return None
    ref = location.cell.removeprefix(f"{location.sheet}!")
    sheet = book[location.sheet]
    try:
        if re.fullmatch(r"\d+:\d+", ref):  # a whole row: its filled columns
            first, last = (int(n) for n in ref.split(":"))
            left, top, right, bottom = 1, first, max(sheet.max_column, 1), last
        else:
            left, top, right, bottom = range_boundaries(ref)
    except (ValueError, TypeError):
        return None
    cells = [
        f"{get_column_letter(column)}{row}" for row in range(top, bottom + 1) for column in range(left, right + 1)
    ][:MAX_MARKED]
    return cells[0], cells


def _mark_cells(book: Book, report: Report) -> None:
    noted: dict[tuple[str, str], list[Mark]] = defaultdict(list)
    filled: dict[tuple[str, str], list[Mark]] = defaultdict(list)
    for f in report.sorted():
        places = [(f.location, False)] + [(r, True) for r in f.related]
        for location, related in places:
            if not isinstance(location, Cell):
                continue
            found = _cells_of(book, location)
            if found is None:
                continue
            first, cells = found
            mark = Mark(f, related)
            if mark not in noted[(location.sheet, first)]:
                noted[(location.sheet, first)].append(mark)
            for cell in cells:
                filled[(location.sheet, cell)].append(mark)
    for (sheet, ref), marks in filled.items():
        worst = RANK[min(m.rank for m in marks)]
        book[sheet][ref].fill = PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst])
    for (sheet, ref), marks in noted.items():
        cell = book[sheet][ref]
        own = cell.comment.text.rstrip() + "\n\n" if cell.comment is not None else ""
        text = own + "\n".join(m.text for m in sorted(marks, key=lambda m: m.rank))
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 360, min(60 + 40 * len(marks), 400)
        cell.comment = comment


# ---------------------------------------------------------------- the 检查结果 sheet


def _summary(source: Path, report: Report, document: Document | None) -> str:
    """One line; the date is the workbook's own (the last approval), so the copy stays reproducible."""
    line = f"{source.name}：{len(report.errors)} 个错误，{len(report.warnings)} 个警告"
    if document is not None and document.revisions:
        last = document.revisions[-1]
        line += f"（版本 {last.version}，批准日期 {last.approved_on.isoformat()}）"
    return line


def _display_width(text: str) -> int:
    """Columns a text takes in Excel: CJK characters are twice as wide as Latin ones."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _list_findings(book: Book, source: Path, report: Report, document: Document | None) -> None:
    sheet: Worksheet = book.create_sheet(RESULTS_SHEET, 0)
    for other in book.worksheets:
        other.sheet_view.tabSelected = False
    sheet.sheet_view.tabSelected = True
    book.active = 0
    sheet["A1"] = _summary(source, report, document)
    as_data([sheet["A1"]])  # it quotes the project's own values
    face = sheet["A1"].font.name  # the workbook's own font; a bare Font() would fall back to a serif one
    sheet["A1"].font = Font(name=face, bold=True, size=12, color="9C0006" if report.errors else "006100")
    sheet.append(HEADER)
    for cell in sheet[2]:
        cell.font = Font(name=face, bold=True)
        cell.fill = PatternFill("solid", start_color="D9D9D9", end_color="D9D9D9")
    wrap = Alignment(wrap_text=True, vertical="top")
    for f in report.sorted():
        where = f.location if isinstance(f.location, Cell) else None
        ref = where.cell.removeprefix(f"{where.sheet}!") if where and where.cell else ""
        also = f"（另见 {'、'.join(map(str, f.related))}）" if f.related else ""
        sheet.append([f.severity.label, where.sheet if where else "", ref, f.code, f.message + also])
        row = sheet.max_row
        as_data(sheet[row])
        for cell in sheet[row]:
            cell.alignment = wrap
        severity = sheet.cell(row, 1)
        severity.fill = PatternFill(
            "solid", start_color=FILLS[(f.severity, False)], end_color=FILLS[(f.severity, False)]
        )
        found = _cells_of(book, where) if where is not None else None
        if where is not None and found is not None:
            link = sheet.cell(row, 3)
            target = found[0]
            location = f"'{where.sheet.replace(chr(39), chr(39) * 2)}'!{target}"
            link.hyperlink = Hyperlink(ref=link.coordinate, location=location, display=ref)
            link.font = Font(name=face, color="0563C1", underline="single")
    last = max(sheet.max_row, 2)
    sheet.auto_filter.ref = f"A2:E{last}"
    sheet.freeze_panes = "A3"
    for column, cap in zip("ABCD", (10, 16, 16, 26), strict=True):
        texts = [str(c.value or "") for c in sheet[column][1:]]
        sheet.column_dimensions[column].width = min(max(_display_width(t) for t in texts) + 3, cap)
    sheet.column_dimensions["E"].width = 80  # 说明 wraps, so a printed list fits a landscape page
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"


# ---------------------------------------------------------------- cached formula results


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3}\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
# openpyxl writes a formula cell as <c r=".." s=".."><f ...>…</f><v></v></c>, or <v /> for an empty one.
_WRITTEN_FORMULA = re.compile(
    rb'<c r="([A-Z]{1,3}\d+)"((?: s="\d+")?)>(<f\b(?:[^>]*/>|[^>]*>.*?</f>))<v\s*/?>(?:</v>)?</c>'
)


def _cached_results(xml: bytes) -> dict[bytes, tuple[bytes | None, bytes]]:
    """The original's formula cells: ref → (type attribute, cached value)."""
    cached = {}
    for cell in _CELL.finditer(xml):
        attributes, content = cell.group(1), cell.group(2) or b""
        ref, value = _REF.search(attributes), _VALUE.search(content)
        if ref and value and _FORMULA.search(content):
            kind = _TYPE.search(attributes)
            cached[ref.group(1)] = (kind.group(1) if kind else None, value.group(1))
    return cached


def _restore_from(original: zipfile.ZipFile, source: Path, written: bytes) -> bytes:
    """The written package with the original's cached formula results and document properties."""
    before = sheet_parts(source, original)
    copy = zipfile.ZipFile(io.BytesIO(written))
    after = sheet_parts(source, copy)
    repaired: dict[str, bytes] = {}
    for title, part in after.items():
        if title not in before:
            continue
        cached = _cached_results(original.read(before[title]))
        if cached:
            repaired[part] = _WRITTEN_FORMULA.sub(functools.partial(_with_result, cached=cached), copy.read(part))
    if "docProps/core.xml" in original.namelist():  # openpyxl stamps the time of saving: keep the original's
        repaired["docProps/core.xml"] = original.read("docProps/core.xml")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in copy.infolist():
            target.writestr(entry.filename, repaired.get(entry.filename, copy.read(entry.filename)))
    return packed.getvalue()


def _with_result(match: re.Match[bytes], cached: dict[bytes, tuple[bytes | None, bytes]]) -> bytes:
    ref, style, formula = match.group(1), match.group(2), match.group(3)
    if ref not in cached:
        return match.group(0)
    kind, value = cached[ref]
    typed = b' t="' + kind + b'"' if kind else b""
    return b'<c r="' + ref + b'"' + style + typed + b">" + formula + b"<v>" + value + b"</v></c>"
