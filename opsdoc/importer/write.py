"""Fill the blank workbook with what was imported: same sheets, headers, hints and dropdowns."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from opsdoc.contract.findings import Cell, finding
from opsdoc.contract.model import SHEETS
from opsdoc.importer.legacy import Imported
from opsdoc.office.xlsx_write import as_data, with_rows
from opsdoc.workbook.blank import STAMP, new_workbook, xlsx_bytes
from opsdoc.workbook.reader import MAX_CELL_CHARS


def _cell_value(value: Any) -> Any:
    """Dates stay dates (the blank workbook shows them yyyy-mm-dd); text and numbers as they are."""
    return value if isinstance(value, (date, int, float, str)) else str(value)


def filled_workbook(imported: Imported) -> bytes:
    """The .xlsx bytes of the blank workbook holding every imported value. A text longer than an
    Excel cell holds is cut there, and the cut is reported at its cell (imported.findings)."""
    book = openpyxl.load_workbook(io.BytesIO(new_workbook()))

    def fitted(sheet: Any, row: int, col: int, value: Any) -> Any:
        """The value as a cell holds it; a text longer than a cell is cut there, and the cut reported."""
        if value is None:
            return None
        value = _cell_value(value)
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            cell = Cell(sheet.title, f"{sheet.title}!{get_column_letter(col)}{row}")
            imported.findings.append(
                finding(
                    "import-value-too-long",
                    cell,
                    f"这个值有 {len(value)} 个字符，超过 Excel 单元格上限 {MAX_CELL_CHARS}：只写入了前 {MAX_CELL_CHARS} 个，"
                    "其余请从文档中拆分到多行或精简",
                )
            )
            value = value[:MAX_CELL_CHARS]
        return value

    rows: dict[str, list[list[Any]]] = {}
    for spec in SHEETS:
        sheet = book[spec.title]
        if spec.is_table:
            # written into the saved package, not through openpyxl's cell objects: 20,000 records take a
            # fraction of the time, each cell in its column's style as Excel gives a typed value (with_rows)
            rows[spec.title] = [
                [fitted(sheet, row, col, record.get(column.name)) for col, column in enumerate(spec.columns, 1)]
                for row, record in enumerate(imported.records.get(spec.name, []), start=2)
            ]
        else:
            values = imported.values.get(spec.name, {})
            for row, column in enumerate(spec.columns, start=1):
                if values.get(column.name) is not None:
                    as_data([sheet.cell(row=row, column=2, value=fitted(sheet, row, 2, values[column.name]))])
    return with_rows(xlsx_bytes(book, STAMP), rows)
