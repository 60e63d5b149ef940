"""Generate the blank workbook a manager fills: every sheet, header, hint and dropdown of the contract."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from opsdoc.contract.model import SHEETS, ColumnSpec, SheetSpec
from opsdoc.office.output import deterministic_zip

Worksheet = Any  # an openpyxl worksheet: openpyxl ships no type information
ChoiceRanges = dict[tuple[str, ...], str]  # dropdown values → the 字典 range listing them

INSTRUCTIONS = "填写说明"
LISTS = "字典"
ROWS_PREPARED = 2000  # rows that carry dropdowns and hints; far beyond any real register

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
OPTIONAL_FONT = Font(bold=True, color="1F1F1F")
HINT_FONT = Font(italic=True, color="7F7F7F")
WRAP = Alignment(wrap_text=True, vertical="top")
# Fixed so the committed blank workbook and a freshly generated one are byte-identical.
STAMP = datetime(2026, 1, 1)

GENERAL_NOTES = [
    "本工作簿是生成《运维工作管理规范》的数据来源，由服务项目经理填写，文控人员用 opsdoc build 生成受控文档。",
    "红色表头（或红色项目名）为必填；黑色为选填。表格类工作表第1行是表头，从第2行起每行一条记录；键值类工作表A列是项目、B列填写内容、C列是提示。",
    "可以调整列的顺序、插入自己的备注列，但不要修改表头和项目名称的文字：程序按文字识别列和项目。",
    "日期请填写真正的日期（如 2026-03-01），也可以填写文本 20260301、2026/03/01、2026.03.01 或 2026年3月1日；纯数字不是日期。",
    "一个单元格内可按 Alt+Enter 换行，每一行在文档中成为单独的段落。",
    "带下拉箭头的列只能填写下拉列表中的值；从别处粘贴时也请保持一致，程序会再次检查。",
    "不要保留模板占位内容（如 XX、XXX、Vx.y、YYYYMMDD、【…】、编制人姓名）。",
    "填写完成后运行 opsdoc check 工作簿.xlsx，按提示的工作表和单元格逐项修改，直到没有错误。",
]


def _choice_ranges(lists_sheet: Worksheet) -> dict[tuple[str, ...], str]:
    """Write each distinct dropdown list once on the hidden sheet; return its range formula."""
    ranges: dict[tuple[str, ...], str] = {}
    for spec in SHEETS:
        for column in spec.columns:
            if column.choices and column.choices not in ranges:
                letter = get_column_letter(len(ranges) + 1)
                lists_sheet[f"{letter}1"] = f"{spec.title}·{column.label}"
                for row, choice in enumerate(column.choices, start=2):
                    lists_sheet[f"{letter}{row}"] = choice
                last = len(column.choices) + 1
                ranges[column.choices] = f"{quote_sheetname(LISTS)}!${letter}$2:${letter}${last}"
    return ranges


def _hint(column: ColumnSpec) -> str:
    need = "必填" if column.required else "选填"
    return f"{need}。{column.hint}"[:255]  # Excel's limit for an input message


def _validation(column: ColumnSpec, cells: str, ranges: ChoiceRanges) -> DataValidation:
    if column.choices:
        rule = DataValidation(type="list", formula1=ranges[column.choices], allow_blank=True)
        rule.error, rule.errorTitle, rule.showErrorMessage = "请从下拉列表中选择", column.label, True
    else:
        rule = DataValidation(allow_blank=True)
    rule.promptTitle, rule.prompt, rule.showInputMessage = column.label[:32], _hint(column), True
    rule.add(cells)
    return rule


def _style_input(target: Any, column: ColumnSpec) -> None:
    """Wrap long text and show dates as dates; `target` is a cell or a whole column."""
    if column.kind == "paragraphs":
        target.alignment = WRAP
    elif column.kind == "date":
        target.number_format = "yyyy-mm-dd"


def _table_sheet(sheet: Worksheet, spec: SheetSpec, ranges: ChoiceRanges) -> None:
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index, value=column.label)
        header.font = REQUIRED_FONT if column.required else OPTIONAL_FONT
        header.fill = HEADER_FILL
        header.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[letter].width = column.width
        # A column style, not hundreds of styled empty cells: Excel and WPS give it to every
        # new cell, and the workbook stays small and quick to read.
        _style_input(sheet.column_dimensions[letter], column)
        if column.choices:  # the header itself is no choice: it gets the hint only
            sheet.add_data_validation(_validation(column, f"{letter}2:{letter}{ROWS_PREPARED}", ranges))
            sheet.add_data_validation(_validation(column._replace(choices=()), f"{letter}1", ranges))
        else:
            sheet.add_data_validation(_validation(column, f"{letter}1:{letter}{ROWS_PREPARED}", ranges))
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 30


def _key_value_sheet(sheet: Worksheet, spec: SheetSpec, ranges: ChoiceRanges) -> None:
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = max(c.width for c in spec.columns)
    sheet.column_dimensions["C"].width = 60
    for row, column in enumerate(spec.columns, start=1):
        label = sheet.cell(row=row, column=1, value=column.label)
        label.font = REQUIRED_FONT if column.required else OPTIONAL_FONT
        label.fill = HEADER_FILL
        hint = sheet.cell(row=row, column=3, value=_hint(column))
        hint.font, hint.alignment = HINT_FONT, WRAP
        sheet.add_data_validation(_validation(column, f"B{row}", ranges))
        _style_input(sheet.cell(row=row, column=2), column)
        if column.kind == "paragraphs":
            sheet.row_dimensions[row].height = 90
    sheet.freeze_panes = "B1"


def _instructions(sheet: Worksheet) -> None:
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 36
    sheet.column_dimensions["C"].width = 90
    sheet["A1"] = "运维工作管理规范 数据工作簿 填写说明"
    sheet["A1"].font = Font(bold=True, size=14)
    row = 3
    for number, note in enumerate(GENERAL_NOTES, start=1):
        sheet.cell(row=row, column=1, value=f"{number}.")
        sheet.cell(row=row, column=2, value=note).alignment = WRAP
        sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=3)
        sheet.row_dimensions[row].height = 32
        row += 1
    row += 1
    for col, title in enumerate(("工作表", "用途", "必填项"), start=1):
        cell = sheet.cell(row=row, column=col, value=title)
        cell.font, cell.fill = OPTIONAL_FONT, HEADER_FILL
    for spec in SHEETS:
        row += 1
        required = "、".join(c.label for c in spec.columns if c.required) or "（均为选填）"
        kind = "表格" if spec.is_table else "键值"
        sheet.cell(row=row, column=1, value=spec.title)
        sheet.cell(row=row, column=2, value=f"{spec.purpose}（{kind}）").alignment = WRAP
        sheet.cell(row=row, column=3, value=required).alignment = WRAP
    sheet.freeze_panes = "A2"


def new_workbook() -> bytes:
    """The blank workbook as .xlsx bytes; the same bytes on every run."""
    book = Workbook()
    _instructions(book.active)
    book.active.title = INSTRUCTIONS
    lists = book.create_sheet(LISTS)
    ranges = _choice_ranges(lists)
    for spec in SHEETS:
        sheet = book.create_sheet(spec.title, index=len(book.sheetnames) - 1)
        (_table_sheet if spec.is_table else _key_value_sheet)(sheet, spec, ranges)
    lists.sheet_state = "hidden"
    book.properties.creator = "opsdoc"
    book.properties.title = "运维工作管理规范 数据工作簿"
    return xlsx_bytes(book, STAMP)


def xlsx_bytes(book: Workbook, stamp: datetime) -> bytes:
    """Save with a fixed time: openpyxl's own save() stamps "modified" with the current time."""
    book.properties.created = book.properties.modified = stamp
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return deterministic_zip(buffer.getvalue())
