"""The register as the workbook a document controller keeps: 受控文件清单.xlsx."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from opsdoc.contract.vocabulary import SUPERSEDED, WITHDRAWN
from opsdoc.control.register import Entry
from opsdoc.office.xlsx_write import as_data, printable
from opsdoc.workbook.blank import xlsx_bytes

HEADERS = ["序号", "文件编码", "文件名称", "版本", "编制", "审核", "批准", "发布日期", "生效日期", "状态", "备注"]
STATUS = HEADERS.index("状态")
WRAPPED = {"文件名称": 36, "备注": 40}  # long texts wrap within these widths; the others fit on one line
LINE_HEIGHT = 15  # points per wrapped line: LibreOffice and Excel do not grow a row opsdoc wrote
THIN = Side(style="thin", color="808080")


def register_workbook(rows: list[Entry]) -> bytes:
    """One row per issued version, newest first; dated from the latest issue, so the bytes repeat."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new Workbook always has its first sheet
    sheet.title = "受控文件清单"
    sheet.append(HEADERS)
    for number, entry in enumerate(rows, start=1):
        sheet.append(
            printable(value)
            for value in [
                number,
                entry.file_code,
                entry.title,
                entry.version,
                f"{entry.compiled_by} {entry.compiled_on}",
                f"{entry.reviewed_by} {entry.reviewed_on}",
                f"{entry.approved_by} {entry.approved_on}",
                entry.approved_on,  # the cover's 发布日期
                entry.effective_on,
                entry.status,
                _remark(entry),
            ]
        )
    header_fill = PatternFill("solid", fgColor="D9E1F2")
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    widths = {}
    for column in sheet.columns:
        letter, header = column[0].column_letter, str(column[0].value)
        widest = max(_width(str(c.value or "")) for c in column) + 2
        widths[header] = min(widest, WRAPPED.get(header, widest))
        sheet.column_dimensions[letter].width = widths[header]
    for row in sheet.iter_rows(min_row=2):
        as_data(row)  # a 修订说明 or a name beginning with "=" is text
        lines = 1
        for cell, header in zip(row, HEADERS, strict=True):
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            cell.alignment = Alignment(vertical="center", wrap_text=header in WRAPPED)
            if header in WRAPPED:
                lines = max(lines, -(-_width(str(cell.value or "")) // (widths[header] - 1)))
        sheet.row_dimensions[row[0].row].height = LINE_HEIGHT * lines + 3
        if row[STATUS].value in (SUPERSEDED, WITHDRAWN):
            row[STATUS].font = Font(color="C00000")
    for cell in sheet[1]:
        cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    sheet.print_title_rows = "1:1"
    # Printed for audits: landscape, every column on one page width.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    stamp = max((_issued(e) for e in rows), default=datetime(1980, 1, 1))
    return xlsx_bytes(book, stamp)


def _issued(entry: Entry) -> datetime:
    """When the entry was filed; a time written by hand in another form dates nothing."""
    try:
        return datetime.fromisoformat(entry.issued_at).replace(tzinfo=None)
    except ValueError:
        return datetime(1980, 1, 1)


def _remark(entry: Entry) -> str:
    if entry.status == SUPERSEDED:
        remark = f"已被 {entry.superseded_by} 替代（{(entry.superseded_at or '')[:10]}）"
    elif entry.status == WITHDRAWN:
        remark = f"{(entry.withdrawn_at or '')[:10]} 由 {entry.withdrawn_by} 撤销"
    else:
        remark = entry.note.splitlines()[0] if entry.note else ""
    return "；".join(part for part in (remark, entry.acknowledged) if part)


def _width(text: str) -> int:
    """Columns a text takes in Excel: a Chinese character is two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
