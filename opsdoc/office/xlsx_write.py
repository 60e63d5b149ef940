"""Writing user data into openpyxl sheets: every value is the data it is, never a formula, never refused."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as ILLEGAL


def as_data(cells: Iterable[Any]) -> None:
    """Store text that openpyxl took for a formula (it starts with "=") as the text it is.

    A 修订说明, a finding's message or an imported paragraph that begins with "=" is what
    a person typed; written as a formula, Excel would run it when the file is opened (and
    "=cmd|…" style payloads are the classic spreadsheet injection). Text beginning with
    + - @ is already stored as text by openpyxl, and a text cell is never evaluated.
    """
    for cell in cells:
        if cell.data_type == "f" and isinstance(cell.value, str):
            cell.data_type = "s"


def printable(value: Any) -> Any:
    """A value openpyxl will store: control characters it refuses are shown as \\xNN, not dropped."""
    if isinstance(value, str) and ILLEGAL.search(value):
        return ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system, as openpyxl writes dates


def with_rows(package: bytes, rows: dict[str, list[list[Any]]]) -> bytes:
    """The .xlsx openpyxl wrote, with `rows` (sheet title → rows of values) after each sheet's last row.

    Written as Excel writes a value typed into a styled column: each cell in its column's style (a
    date column shows dates, a text column wraps), text inline, a date as its serial number. Many
    thousands of rows take a fraction of what openpyxl's cell objects would; every value stays data
    (text beginning with "=" is text, as as_data keeps it), and control characters are shown as \\xNN.
    """
    from lxml import etree

    from opsdoc.office.output import with_member

    source = zipfile.ZipFile(io.BytesIO(package))
    relationships = etree.fromstring(source.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "").lstrip("/") for r in relationships}
    parts = {
        sheet.get("name"): targets[sheet.get(_RELATIONSHIP)]
        for sheet in etree.fromstring(source.read("xl/workbook.xml")).iter(_MAIN + "sheet")
    }
    for title, values in rows.items():
        if not values:
            continue
        name = parts[title]
        sheet = source.read(name).decode("utf-8")
        styles = _column_styles(etree.fromstring(sheet.encode("utf-8")))
        last = int(re.findall(r'<row r="(\d+)"', sheet)[-1]) if "<row " in sheet else 0
        written = "".join(_row(last + number, row, styles) for number, row in enumerate(values, start=1))
        width = max(len(row) for row in values)
        sheet = re.sub(r'(<dimension ref="A1:)[A-Z]+\d+(")', rf"\g<1>{_letter(width)}{last + len(values)}\2", sheet)
        sheet = (
            sheet.replace("</sheetData>", written + "</sheetData>", 1)
            if "</sheetData>" in sheet
            else sheet.replace("<sheetData/>", f"<sheetData>{written}</sheetData>", 1)
        )
        package = with_member(package, name, sheet.encode("utf-8"))
        source = zipfile.ZipFile(io.BytesIO(package))
    return package


def _column_styles(sheet: Any) -> dict[int, str]:
    styles: dict[int, str] = {}
    for column in sheet.iter(_MAIN + "col"):
        if column.get("style"):
            for index in range(int(column.get("min", "1")), int(column.get("max", "1")) + 1):
                styles[index] = column.get("style", "0")
    return styles


def _row(number: int, values: list[Any], styles: dict[int, str]) -> str:
    cells = []
    for index, value in enumerate(values, start=1):
        if value is None:
            continue
        where = f'r="{_letter(index)}{number}"' + (f' s="{styles[index]}"' if index in styles else "")
        if isinstance(value, bool):
            cells.append(f'<c {where} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, datetime):
            serial = (value - datetime.combine(_EPOCH, time())).total_seconds() / 86400
            cells.append(f"<c {where}><v>{serial!r}</v></c>")
        elif isinstance(value, date):
            cells.append(f"<c {where}><v>{(value - _EPOCH).days}</v></c>")
        elif isinstance(value, (int, float)) and math.isfinite(value):
            cells.append(f"<c {where}><v>{value!r}</v></c>")
        else:  # text, and what only text can hold
            text = escape(printable(str(value)), {"\r": "&#13;"})
            cells.append(f'<c {where} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def _letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
