"""Writing user data into openpyxl sheets: every value is the data it is, never a formula, never refused."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as ILLEGAL
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import to_excel

from opsdoc.office.xlsx import column_letter, sheet_parts


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
DEFAULT_WIDTH = 8.43  # characters: a column without a width of its own
LINE_POINTS = 15  # a line of the default font, as the blank workbook's rows are
MAX_ROW_POINTS = 409  # Excel's highest row


def with_rows(package: bytes, rows: dict[str, list[list[Any]]]) -> bytes:
    """The .xlsx openpyxl wrote, with `rows` (sheet title → rows of values) after each sheet's last row.

    Written as Excel writes a value typed into a styled column: each cell in its column's style (a
    date column shows dates, a text column wraps), text inline, a date as its serial number. Many
    thousands of rows take a fraction of what openpyxl's cell objects would; every value stays data
    (text beginning with "=" is text, as as_data keeps it), and control characters are shown as \\xNN.
    """
    from lxml import etree

    from opsdoc.office.output import with_members

    source = zipfile.ZipFile(io.BytesIO(package))
    parts = sheet_parts(Path("<workbook>"), source)  # the path names a workbook in messages; openpyxl's gives none
    stylesheet = etree.fromstring(source.read("xl/styles.xml"))
    dates, wrapping = _date_styles(stylesheet), _wrapping_styles(stylesheet)
    sheets: dict[str, bytes] = {}
    for title, values in rows.items():
        if not values:
            continue
        name = parts[title]
        raw = source.read(name)
        sheet = raw.decode("utf-8")
        columns = _Columns.of(etree.fromstring(raw), dates, wrapping)
        last = int(re.findall(r'<row r="(\d+)"', sheet)[-1]) if "<row " in sheet else 0
        written = "".join(_row(last + number, row, columns) for number, row in enumerate(values, start=1))
        width = max(len(row) for row in values)
        sheet = re.sub(
            r'(<dimension ref="A1:)[A-Z]+\d+(")', rf"\g<1>{column_letter(width)}{last + len(values)}\2", sheet
        )
        sheet = (
            sheet.replace("</sheetData>", written + "</sheetData>", 1)
            if "</sheetData>" in sheet
            else sheet.replace("<sheetData/>", f"<sheetData>{written}</sheetData>", 1)
        )
        sheets[name] = sheet.encode("utf-8")
    return with_members(package, sheets)


@dataclass(frozen=True)
class _Columns:
    """What a sheet's <col> elements say of each column: its style, whether it shows dates or wraps, its width."""

    styles: dict[int, str]
    dated: set[int]
    wrapped: set[int]
    widths: dict[int, float]  # in characters of the default font

    @classmethod
    def of(cls, sheet: Any, dates: set[str], wrapping: set[str]) -> _Columns:
        styles: dict[int, str] = {}
        widths: dict[int, float] = {}
        for column in sheet.iter(_MAIN + "col"):
            for index in range(int(column.get("min", "1")), int(column.get("max", "1")) + 1):
                if column.get("style"):
                    styles[index] = column.get("style", "0")
                widths[index] = float(column.get("width") or DEFAULT_WIDTH)
        dated = {c for c, style in styles.items() if style in dates}
        return cls(styles, dated, {c for c, style in styles.items() if style in wrapping}, widths)

    def lines(self, index: int, text: str) -> int:
        """The lines a wrapped cell takes: a CJK character is about two characters wide."""
        if index not in self.wrapped:
            return 1
        width = max(self.widths.get(index, DEFAULT_WIDTH), 1.0)
        return sum(
            max(1, math.ceil(sum(2 if ord(c) > 0x2E7F else 1 for c in part) / width)) for part in text.split("\n")
        )


def _wrapping_styles(stylesheet: Any) -> set[str]:
    """The cell styles (their index) that wrap their text."""
    return {
        str(index)
        for index, style in enumerate(next(stylesheet.iter(_MAIN + "cellXfs"), []))
        if any(a.get("wrapText") in ("1", "true") for a in style.iter(_MAIN + "alignment"))
    }


def _date_styles(stylesheet: Any) -> set[str]:
    """The cell styles (their index, as a <col style> names them) that show a number as a date."""
    formats = {int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in stylesheet.iter(_MAIN + "numFmt")}
    found = set()
    for index, style in enumerate(next(stylesheet.iter(_MAIN + "cellXfs"), [])):
        number = int(style.get("numFmtId", "0"))
        if is_date_format(formats.get(number) or BUILTIN_FORMATS.get(number, "")):
            found.add(str(index))
    return found


def _row(number: int, values: list[Any], columns: _Columns) -> str:
    """A row of cells; as high as its longest wrapped text, as Excel makes a row when the text is typed."""
    cells, lines = [], 1
    for index, value in enumerate(values, start=1):
        if value is None:
            continue
        style = columns.styles.get(index)
        where = f'r="{column_letter(index)}{number}"' + (f' s="{style}"' if style else "")
        if isinstance(value, bool):
            cells.append(f'<c {where} t="b"><v>{int(value)}</v></c>')
        elif (
            isinstance(value, date)
            and index in columns.dated
            and (not isinstance(value, datetime) or value.tzinfo is None)
        ):
            cells.append(f"<c {where}><v>{to_excel(value)!r}</v></c>")  # openpyxl's serial, 1900's quirk included
        elif (isinstance(value, int) and abs(value) < 10**15) or (isinstance(value, float) and math.isfinite(value)):
            cells.append(f"<c {where}><v>{value!r}</v></c>")
        else:  # text, and what only text holds whole (a 20-digit number, a date outside a date column)
            shown = _xml_safe(printable(str(value)))
            lines = max(lines, columns.lines(index, shown))
            text = escape(shown, {"\r": "&#13;"})
            cells.append(f'<c {where} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    height = f' ht="{min(LINE_POINTS * lines, MAX_ROW_POINTS)}" customHeight="1"' if lines > 1 else ""
    return f'<row r="{number}"{height}>{"".join(cells)}</row>'


def _xml_safe(text: str) -> str:
    """What XML cannot hold at all (U+FFFE, U+FFFF, a lone surrogate) shown as \\uXXXX, as printable does."""
    return _NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
