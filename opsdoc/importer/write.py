"""Fill the blank workbook with what was imported: same sheets, headers, hints and dropdowns."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl

from opsdoc.contract.model import SHEETS
from opsdoc.importer.legacy import Imported
from opsdoc.office.xlsx_write import as_data
from opsdoc.workbook.blank import STAMP, new_workbook, xlsx_bytes


def _cell_value(value: Any) -> Any:
    """Dates stay dates (the blank workbook shows them yyyy-mm-dd); text and numbers as they are."""
    return value if isinstance(value, (date, int, float, str)) else str(value)


def filled_workbook(imported: Imported) -> bytes:
    """The .xlsx bytes of the blank workbook holding every imported value."""
    book = openpyxl.load_workbook(io.BytesIO(new_workbook()))
    for spec in SHEETS:
        sheet = book[spec.title]
        if spec.is_table:
            for row, record in enumerate(imported.records.get(spec.name, []), start=2):
                for col, column in enumerate(spec.columns, start=1):
                    if record.get(column.name) is not None:
                        as_data([sheet.cell(row=row, column=col, value=_cell_value(record[column.name]))])
        else:
            values = imported.values.get(spec.name, {})
            for row, column in enumerate(spec.columns, start=1):
                if values.get(column.name) is not None:
                    as_data([sheet.cell(row=row, column=2, value=_cell_value(values[column.name]))])
    return xlsx_bytes(book, STAMP)
