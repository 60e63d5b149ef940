"""The register as the 受控文件清单 a document controller prints and an auditor reads: 受控文件清单.xlsx.

Three sheets, each printed on A4 landscape with a title row (company, what it is, the day
it stands for, who made it), its column headers repeated on every page, 第 N 页 共 M 页 in the
footer and a sign-off line: the versions (every column an auditor asks for, in the cover's
terms, the 修订说明 whole), the copies handed out and recalled, and each version's review and
retention. The bytes depend only on the register and the day asked for.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from opsdoc.contract.conventions import Conventions, add_months
from opsdoc.contract.vocabulary import CURRENT, SUPERSEDED, WITHDRAWN
from opsdoc.control.archive import UnsafeArchivePath, resolve
from opsdoc.control.copies import Holding
from opsdoc.control.register import Entry, Review
from opsdoc.control.review import retention_start
from opsdoc.errors import OpsdocError
from opsdoc.office.docx_text import core_properties
from opsdoc.office.xlsx_write import as_data, printable
from opsdoc.workbook.blank import xlsx_bytes

VERSIONS = [
    "序号",
    "文件编码",
    "文件名称",
    "版本号",
    "密级",
    "编制",
    "审核",
    "批准",
    "发布日期",
    "实施日期",
    "状态",
    "修订说明",
    "备注",
]
COPIES = [
    "序号",
    "文件编码",
    "文件名称",
    "版本号",
    "分发号",
    "类别",
    "接收人",
    "部门",
    "份数",
    "分发日期",
    "分发人",
    "回收日期",
    "回收人",
    "状态",
]
REVIEWS = [
    "序号",
    "文件编码",
    "文件名称",
    "版本号",
    "状态",
    "实施日期",
    "评审记录",
    "下次评审",
    "作废/撤销日期",
    "保存期限至",
    "处置",
]
WRAPPED = {"文件名称": 24, "修订说明": 40, "备注": 26, "评审记录": 34, "处置": 24}  # long texts wrap at these widths
CENTRED = {"序号", "版本号", "密级", "状态", "分发号", "类别", "份数"}  # short values, read down the column
MAX_WIDTH = 30  # a column holding something unexpectedly long wraps rather than shrinking the printed page
LINE_HEIGHT = 15  # points per wrapped line: LibreOffice and Excel do not grow a row opsdoc wrote
THIN = Side(style="thin", color="808080")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
RED = Font(color="C00000")


@dataclass(frozen=True)
class Listing:
    """What the export shows, and for whom."""

    entries: Sequence[Entry]  # with their status on `on`
    holdings: Sequence[Holding]
    reviews: Sequence[Review]
    conventions: Conventions
    company: str
    made_by: str  # 制表人
    on: date  # the day the statuses stand for


def register_workbook(listing: Listing) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None  # a new Workbook always has its first sheet
    book.remove(first)
    titles = {(e.file_code, e.version): e.title for e in listing.entries}  # the title each version was issued under
    _sheet(book, "受控文件清单", VERSIONS, [_version_row(e) for e in listing.entries], listing, red_status=True)
    _sheet(
        book,
        "分发回收记录",
        COPIES,
        [_copy_row(h, titles.get((h.copy.file_code, h.copy.version), "")) for h in listing.holdings],
        listing,
        red_status=True,
    )
    reviewed: dict[tuple[str, str], list[Review]] = {}
    for review in listing.reviews:
        reviewed.setdefault((review.file_code, review.version), []).append(review)
    rows = [_review_row(e, reviewed.get((e.file_code, e.version), []), listing.conventions) for e in listing.entries]
    _sheet(book, "评审与保存", REVIEWS, rows, listing)
    stamp = datetime.combine(listing.on, datetime.min.time())
    return xlsx_bytes(book, stamp)


def _version_row(entry: Entry) -> list[Any]:
    return [
        entry.file_code,
        entry.title,
        entry.version,
        entry.secrecy,
        f"{entry.compiled_by}\n{entry.compiled_on}",  # name over date: three narrow columns
        f"{entry.reviewed_by}\n{entry.reviewed_on}",
        f"{entry.approved_by}\n{entry.approved_on}",
        entry.approved_on,  # the cover's 发布日期
        entry.effective_on,  # the cover's 实施日期
        entry.status,
        entry.note,
        _remark(entry),
    ]


def _remark(entry: Entry) -> str:
    parts = []
    if entry.status == SUPERSEDED:
        parts.append(f"已被 {entry.superseded_by} 替代（{(entry.superseded_at or '')[:10]}）")
    elif entry.status == WITHDRAWN:
        parts.append(f"{(entry.withdrawn_at or '')[:10]} 由 {entry.withdrawn_by} 撤销")
    if entry.disposed_at:
        parts.append(
            f"{entry.disposed_at[:10]} 由 {entry.disposed_by} 处置" + ("，文件已销毁" if entry.files_removed else "")
        )
    parts.append(entry.acknowledged)
    parts.append(f"登记 {entry.issued_at[:10]} {entry.issued_by}")
    return "；".join(part for part in parts if part)


def _copy_row(holding: Holding, title: str) -> list[Any]:
    copy = holding.copy
    if not copy.controlled:
        state = "非受控，不回收"
    elif copy.recalled_on:
        state = "已回收"
    else:
        state = "待回收" if holding.to_recall else "在用"
    return [
        copy.file_code,
        title,
        copy.version,
        copy.number or "—",
        "受控" if copy.controlled else "非受控",
        copy.holder,
        copy.department,
        copy.count,
        copy.distributed_on,
        copy.distributed_by,
        copy.recalled_on or "",
        copy.recalled_by or "",
        state,
    ]


def _review_row(entry: Entry, reviews: list[Review], conventions: Conventions) -> list[Any]:
    history = "\n".join(f"{r.reviewed_on} {r.reviewed_by}：{r.conclusion}" for r in reviews)
    next_review = ""
    if entry.status == CURRENT:
        last = max([entry.effective_on, *(r.reviewed_on for r in reviews)])
        next_review = add_months(date.fromisoformat(last), conventions.review_months).isoformat()
    ended = retention_start(entry)
    keep_until = add_months(ended, 12 * conventions.retention_years).isoformat() if ended else ""
    disposal = ""
    if entry.disposed_at:
        disposal = f"{entry.disposed_at[:10]} {entry.disposed_by}" + (
            "，文件已销毁" if entry.files_removed else "，文件保留"
        )
    return [
        entry.file_code,
        entry.title,
        entry.version,
        entry.status,
        entry.effective_on,
        history,
        next_review,
        ended.isoformat() if ended else "",
        keep_until,
        disposal,
    ]


def _sheet(
    book: Workbook, title: str, headers: list[str], rows: list[list[Any]], listing: Listing, *, red_status: bool = False
) -> None:
    sheet = book.create_sheet(title)
    width = len(headers)
    sheet.append([f"{listing.company} {title}".strip()])
    sheet.append([f"截至 {listing.on.isoformat()}　制表人：{listing.made_by}　共 {len(rows)} 条"])
    sheet.append(headers)
    for number, row in enumerate(rows, start=1):
        sheet.append([printable(value) for value in [number, *row]])
    sheet.append([])
    sheet.append(["制表：" + listing.made_by, None, None, "审核：", None, None, None, "日期："])
    for line, size in ((1, 16), (2, 10)):
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
        cell = sheet.cell(line, 1)
        cell.font = Font(bold=line == 1, size=size)
        cell.alignment = Alignment(horizontal="center" if line == 1 else "left", vertical="center")
    sheet.row_dimensions[1].height = 28
    widths = {}
    for index, header in enumerate(headers, start=1):
        values = [header, *(str(row[index - 2]) if index > 1 else str(n) for n, row in enumerate(rows, start=1))]
        widest = max(max(_width(line) for line in value.split("\n")) for value in values) + 2
        widths[header] = min(widest, WRAPPED.get(header, MAX_WIDTH))
        sheet.column_dimensions[sheet.cell(3, index).column_letter].width = widths[header]
    status = headers.index("状态") if "状态" in headers else None
    for cell in sheet[3]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
    for row in sheet.iter_rows(min_row=4, max_row=3 + len(rows)):
        as_data(row)  # a 修订说明 or a name beginning with "=" is text
        lines = 1
        for cell, header in zip(row, headers, strict=True):
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            cell.alignment = Alignment(
                horizontal="center" if header in CENTRED else None,
                vertical="center",
                wrap_text=True,
            )
            text = str(cell.value or "")
            room = widths[header] - 1
            lines = max(lines, sum(max(1, -(-_width(line) // room)) for line in text.split("\n")))
        sheet.row_dimensions[row[0].row].height = LINE_HEIGHT * lines + 3
        if red_status and status is not None and row[status].value in (SUPERSEDED, WITHDRAWN, "待回收"):
            row[status].font = RED
    sheet.freeze_panes = "A4"
    if rows:
        sheet.auto_filter.ref = f"A3:{sheet.cell(3 + len(rows), width).coordinate}"
    sheet.print_title_rows = "1:3"
    # Printed for audits: A4 landscape, every column on one page width, the pages numbered.
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "第 &P 页 共 &N 页"
    sheet.oddFooter.right.text = f"{listing.company} {title}".strip().replace("&", "&&")  # & starts a footer code


def _width(text: str) -> int:
    """Columns a text takes in Excel: a Chinese character is two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def company_of(archive: Path, entries: Sequence[Entry]) -> str:
    """The 编制单位 the newest archived .docx names (its core properties' author); "" if none can be read."""
    for entry in entries:  # newest first
        try:
            properties = core_properties(resolve(archive, entry.docx_path))
        except (OpsdocError, UnsafeArchivePath):  # a missing or damaged file: register verify says so
            continue
        if properties is not None and properties.author_text.strip():
            return str(properties.author_text.strip())
    return ""
