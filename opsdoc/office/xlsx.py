"""An .xlsx package read safely: its sheets by name, their values as Excel shows them, and their problems.

Each sheet part is parsed once, streaming, with expat: namespace-aware (any prefix, any quoting),
refusing any DTD, and enforcing the caps from each cell's own position before any grid is built.
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from opsdoc.contract.shown import Displayed
from opsdoc.errors import UnusableWorkbook
from opsdoc.office.package import DAMAGED, WORKBOOK, open_package

# Limits on what a sheet may hold; the package's own limits are in opsdoc.office.package.
MAX_ROWS = 100_000  # filled rows per sheet
MAX_COLUMNS = 256  # columns per sheet: a sheet's <dimension> can claim 16384 and lie
MAX_AREA = 5_000_000  # rows × columns spanned by the filled cells: the reader holds that grid
MAX_DIGITS = 15  # digits Excel keeps of a number; an integer longer than that lost its last digits
_TOO_MANY_DIGITS = 10**MAX_DIGITS

_CHUNK = 1 << 20  # bytes fed to the parser at a time: memory stays flat whatever the part's size
_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_LOCAL = {
    f"{ns}}}{local}": local
    for ns in _NAMESPACES
    for local in ("row", "c", "v", "f", "is", "t", "rPh", "mergeCell", "si", "numFmt", "cellXfs", "xf")
}
_REFERENCE = re.compile(r"\s*([A-Za-z]{1,3})([0-9]{1,7})\s*")
_XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # OOXML's escape for characters XML cannot hold


def column_letter(index: int) -> str:
    """1 → A, 27 → AA: cell names as Excel shows them."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def preflight(path: Path) -> None:
    """Refuse, before parsing, what is not a readable .xlsx."""
    names = open_package(path, WORKBOOK, UnusableWorkbook)
    if "word/document.xml" in names:
        raise UnusableWorkbook(path, "这是 Word 文档，不是工作簿：请给出填写好的 .xlsx 数据工作簿")
    if "xl/workbook.bin" in names:
        raise UnusableWorkbook(path, "这是二进制工作簿（.xlsb）：请在 Excel 中另存为 .xlsx")
    if "mimetype" in names:
        raise UnusableWorkbook(path, "这是 OpenDocument 表格（.ods）：请在 WPS/LibreOffice 中另存为 .xlsx")
    if "xl/workbook.xml" not in names:
        raise UnusableWorkbook(path, "压缩包中没有工作簿内容，不是 .xlsx 文件")


def _unreadable(path: Path, exc: BaseException, what: str) -> UnusableWorkbook:
    if isinstance(exc, DefusedXmlException):
        return UnusableWorkbook(path, f"{what}含有被禁止的 XML 结构（{type(exc).__name__}），疑似恶意文件")
    return UnusableWorkbook(path, f"{what}已损坏或不是 Excel 工作簿，无法读取（{type(exc).__name__}: {exc}）")


@dataclass
class Sheet:
    """One sheet as Excel shows it: rows from A1 (each as long as its last filled cell, None for empty),
    and the cells whose content is not a value."""

    title: str
    rows: list[list[Any]]
    errors: dict[str, str]  # "B3" → "#DIV/0!"
    uncached: set[str]  # formula cells without a cached result
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)  # "B3" → (finding code, message)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (first row, column, last row, column)


class _Refused(Exception):
    """Raised inside an expat handler; carries the message out of the parser."""


def _parse(path: Path, archive: zipfile.ZipFile, part: str, parser: Any) -> None:
    """Feed one part to `parser` in chunks; a DTD anywhere is refused before it can declare anything."""

    def refuse_dtd(*args: Any) -> None:
        raise _Refused(f"「{part}」含有 DTD 声明（被禁止的 XML 结构），疑似恶意文件")

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with archive.open(part) as stream:
            for chunk in _chunks(stream):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise UnusableWorkbook(path, str(exc)) from None
    except (expat.ExpatError, KeyError, *DAMAGED) as exc:
        raise _unreadable(path, exc, f"「{part}」") from None


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _new_parser() -> Any:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    return parser


def _unescape(text: str) -> str:
    return _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _texts(path: Path, archive: zipfile.ZipFile, part: str | None) -> list[str]:
    """The shared strings: each item's text runs joined; phonetic guides (rPh) are not what it says."""
    strings: list[str] = []
    if part is None or part not in archive.NameToInfo:
        return strings
    parser = _new_parser()
    runs: list[str] = []
    state = {"phonetic": 0, "text": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _LOCAL.get(name)
        if local == "t" and not state["phonetic"]:
            state["text"] = True
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "si":
            runs.clear()

    def end(name: str) -> None:
        local = _LOCAL.get(name)
        if local == "t":
            state["text"] = False
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "si":
            strings.append(_unescape("".join(runs)))

    def data(text: str) -> None:
        if state["text"]:
            runs.append(text)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    _parse(path, archive, part, parser)
    return strings


# Built-in number formats that matter for how a value shows (ECMA-376 §18.8.30); others show as General.
_BUILT_IN = {
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    14: "yyyy-mm-dd",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "yyyy-mm-dd h:mm",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mm:ss.0",
}
_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # quoted text, escaped characters, [colour]/[locale]
_SIMPLE = re.compile(r"(#,##0|0)(\.0+)?(%?)")  # the number formats whose text is reproduced


@dataclass(frozen=True)
class _Format:
    """What a cell style's number format means for its value."""

    date: bool = False
    time_only: bool = False  # h:mm with no day: the value is a time of day
    grouped: bool = False  # thousands separators
    decimals: int | None = None  # fixed decimals; None: shown as General
    percent: bool = False


_GENERAL = _Format()


def _format(code: str) -> _Format:
    bare = _LITERALS.sub("", code.split(";", 1)[0]).strip()
    lower = bare.lower()
    if any(letter in lower for letter in "ymdhs"):
        has_day = "y" in lower or "d" in lower
        return _Format(date=True, time_only=not has_day and ("h" in lower or "s" in lower))
    match = _SIMPLE.fullmatch(bare)
    if match is None:
        return _GENERAL
    grouped, decimals, percent = match.groups()
    return _Format(grouped=grouped == "#,##0", decimals=len(decimals or ".") - 1, percent=bool(percent))


def _styles(path: Path, archive: zipfile.ZipFile, part: str | None) -> list[_Format]:
    """Each cell style's number format, by the index a cell's `s` attribute gives."""
    if part is None or part not in archive.NameToInfo:
        return []
    codes: dict[int, str] = dict(_BUILT_IN.items())
    used: list[int] = []
    parser = _new_parser()
    state = {"cell_styles": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = _LOCAL.get(name)
        if local == "numFmt":
            codes[_number(attributes.get("numFmtId"))] = attributes.get("formatCode", "")
        elif local == "cellXfs":
            state["cell_styles"] = True
        elif local == "xf" and state["cell_styles"]:
            used.append(_number(attributes.get("numFmtId")))

    def end(name: str) -> None:
        if _LOCAL.get(name) == "cellXfs":
            state["cell_styles"] = False

    parser.StartElementHandler, parser.EndElementHandler = start, end
    _parse(path, archive, part, parser)
    return [_format(codes[i]) if i in codes else _GENERAL for i in used]


def _number(text: str | None) -> int:
    return int(text) if text and text.strip().isdigit() else 0


def _rounded(number: float, decimals: int) -> Decimal:
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _shown(number: float, style: _Format) -> Any:
    """The number as its format shows it: a percent is that text (98%), a fixed format a Displayed."""
    if style.decimals is None:
        return number
    scaled = number * 100 if style.percent else number
    text = format(_rounded(scaled, style.decimals), ",f" if style.grouped else "f")
    return text + "%" if style.percent else Displayed(number, text)


class _DateSystem:
    """Serial numbers to dates: 1900 (with Lotus's phantom 1900-02-29) or 1904."""

    def __init__(self, date1904: bool):
        self.date1904 = date1904

    def convert(self, serial: float, style: _Format) -> Any:
        if not 0 <= serial < 2_958_466:  # before the epoch or after 9999-12-31: a number, not a date
            return serial
        if style.time_only or (serial < 1 and not self.date1904):
            return (datetime.min + timedelta(seconds=round((serial % 1) * 86_400))).time()
        if self.date1904:
            epoch = datetime(1904, 1, 1)
        elif serial < 61:
            epoch = datetime(1899, 12, 31)
        else:
            epoch = datetime(1899, 12, 30)
        moment = epoch + timedelta(seconds=round(serial * 86_400))
        return moment.date() if moment.time() == time() else moment


@dataclass
class _Book:
    """What every sheet's values depend on: the shared strings, the styles and the date system."""

    strings: list[str]
    styles: list[_Format]
    dates: _DateSystem


_COLUMNS: dict[str, int] = {}  # column letters as written (any case) → index; a cell reference is parsed per cell


def _reference(text: str) -> tuple[int, int] | None:
    """ "B3" (or "b3", " B3 ") → (3, 2); None when it is no cell reference."""
    letters = text.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is None or len(letters) == len(text):
        match = _REFERENCE.fullmatch(text)
        if match is None:
            return None
        letters, digits = match.groups()
        return int(digits), _COLUMNS.setdefault(letters, column_index(letters.upper()))
    return int(text[len(letters) :]), column


def _read_sheet(path: Path, archive: zipfile.ZipFile, title: str, part: str, book: _Book) -> Sheet:
    """One streaming pass: positions and caps, values, errors, uncached formulas, merges."""
    cells: list[tuple[int, int, Any]] = []
    errors: dict[str, str] = {}
    uncached: set[str] = set()
    problems: dict[str, tuple[str, str]] = {}
    merged: list[tuple[int, int, int, int]] = []
    filled_rows: set[int] = set()
    last_row = last_column = 0  # the extent of the filled cells
    row = column = 0  # the current cell's position; a cell without r follows the one before
    row_number = "0"  # the current row's number as a cell reference writes it
    kind: str = "n"
    style: str | None = None
    raw: str | None = None  # the <v> text
    inline: list[str] | None = None  # the <is> text runs
    formula = False
    in_cell = collecting = False
    phonetic = 0  # depth inside <rPh>, whose text is a reading aid, not the value
    text: list[str] = []
    formats: dict[str | None, _Format] = {}  # a cell's s attribute → its number format

    def refuse(message: str) -> None:
        raise _Refused(f"工作表「{title}」{message}")

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal row, row_number, column, kind, style, raw, inline, formula, in_cell, collecting, phonetic
        local = _LOCAL.get(name)
        if local == "c":
            ref = attributes.get("r")
            if ref is None:
                column += 1
            else:
                # "B3" in row 3: the letters alone are looked up (a cell of another row is parsed whole)
                known = _COLUMNS.get(ref[: -len(row_number)]) if ref.endswith(row_number) else None
                if known is not None:
                    column = known
                else:
                    found = _reference(ref)
                    if found is None:
                        refuse(f"有无法识别的单元格引用「{ref}」，文件已损坏")
                    row, column = found  # type: ignore[misc]
                    row_number = str(row)
            kind = attributes.get("t", "n")
            style = attributes.get("s")
            raw = inline = None
            formula = False
            in_cell = True
        elif local == "is":
            inline = []
        elif local == "v" or (local == "t" and in_cell and not phonetic):
            collecting = True
            text.clear()
        elif local == "f" and in_cell:
            formula = True
        elif local == "rPh":
            phonetic += 1
        elif local == "row":
            ref = attributes.get("r")
            row = int(ref) if ref and ref.strip().isdigit() else row + 1
            row_number = str(row)
            column = 0
        elif local == "mergeCell":
            first, _, last = attributes.get("ref", "").partition(":")
            corners = _reference(first), _reference(last or first)
            if corners[0] is None or corners[1] is None:
                refuse(f"有无法识别的合并区域「{attributes.get('ref')}」，文件已损坏")
            (r1, c1), (r2, c2) = corners  # type: ignore[misc]
            if (r1, c1) != (r2, c2):
                merged.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))

    def end(name: str) -> None:
        nonlocal raw, collecting, phonetic, in_cell
        local = _LOCAL.get(name)
        if local == "v":
            collecting = False
            raw = "".join(text)
        elif local == "t" and collecting and inline is not None:
            collecting = False
            inline.append("".join(text))
        elif local == "c":
            in_cell = False
            if raw or inline is not None or formula:  # an empty, formatted cell holds nothing to read
                close()
        elif local == "rPh":
            phonetic -= 1

    def data(chunk: str) -> None:
        if collecting:
            text.append(chunk)

    def close() -> None:
        nonlocal last_row, last_column
        if column > MAX_COLUMNS:
            refuse(f"的 {column_letter(column)}{row} 在第 {MAX_COLUMNS} 列之后还有内容，超出列数上限")
        filled_rows.add(row)
        if len(filled_rows) > MAX_ROWS:
            refuse(f"超过 {MAX_ROWS} 行数据，超出上限")
        if row > last_row or column > last_column:
            last_row, last_column = max(last_row, row), max(last_column, column)
            if last_row * last_column > MAX_AREA:
                refuse(f"的数据范围（{last_row} 行 × {last_column} 列）超出上限")
        if kind == "e":
            errors[f"{column_letter(column)}{row}"] = raw or "#N/A"
            value = None
        elif formula and not raw and inline is None:
            uncached.add(f"{column_letter(column)}{row}")
            value = None
        elif inline is not None:  # openpyxl writes every text as an inline string: the common case first
            value = _unescape("".join(inline))
        else:
            value = _value(raw or "")
        cells.append((row, column, value))

    def problem(code: str, message: str) -> None:
        problems[f"{column_letter(column)}{row}"] = (code, message)

    def _value(raw: str) -> Any:
        if kind == "s":
            index = _number(raw)
            if index >= len(book.strings):
                refuse(f"的 {column_letter(column)}{row} 指向不存在的共享字符串，文件已损坏")
            return book.strings[index]
        if kind in ("str", "inlineStr"):
            return _unescape(raw)
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip())
            except ValueError:
                problem("bad-date", f"「{raw}」不是日期，请重新输入该单元格")
                return None
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            problem("bad-number", f"「{raw.strip()}」不是有效的数字，请重新输入该单元格")
            return None
        if abs(number) >= _TOO_MANY_DIGITS:  # an ID typed as a number: Excel kept only its first digits
            problem(
                "number-too-long",
                f"数字「{raw.strip()}」超过 Excel 能保存的 {MAX_DIGITS} 位有效数字，末尾几位已丢失："
                "请把单元格设为文本格式后重新输入（或在前面加英文单引号 '）",
            )
            return None
        number_format = formats.get(style)
        if number_format is None:
            index = _number(style) if style else 0
            number_format = formats[style] = book.styles[index] if index < len(book.styles) else _GENERAL
        if number_format.date:
            return book.dates.convert(number, number_format)
        return _shown(number, number_format)

    parser = _new_parser()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    _parse(path, archive, part, parser)
    rows: list[list[Any]] = [[] for _ in range(last_row)]
    for at_row, at_column, value in cells:
        values = rows[at_row - 1]
        if len(values) < at_column:
            values.extend([None] * (at_column - len(values)))
        values[at_column - 1] = value
    return Sheet(title, rows, errors, uncached, problems, merged)


def _workbook_parts(path: Path, archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str], bool]:
    """Sheet name → the package part holding it, other parts by relationship type, and the date system."""
    try:
        book = fromstring(archive.read("xl/workbook.xml"))
        rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, DefusedXmlException, SyntaxError, *DAMAGED) as exc:
        raise _unreadable(path, exc, "工作簿") from None

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")

    targets = {r.get("Id"): r.get("Target", "") for r in rels if r.tag.endswith("Relationship")}
    others = {
        r.get("Type", "").rsplit("/", 1)[-1]: part(r.get("Target", "")) for r in rels if r.tag.endswith("Relationship")
    }
    parts: dict[str, str] = {}
    seen: dict[str, str] = {}
    date1904 = False
    for element in book.iter():
        if element.tag.endswith("}workbookPr"):
            date1904 = element.get("date1904", "").strip().lower() in ("1", "true")
        if element.tag.endswith("}sheet"):
            name = element.get("name", "")
            if name.casefold() in seen:
                raise UnusableWorkbook(
                    path,
                    f"有两个同名的工作表「{seen[name.casefold()]}」和「{name}」（Excel 不区分大小写）：请删除或重命名其中一个",
                )
            seen[name.casefold()] = name
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            parts[name] = part(targets.get(rid, ""))
    return parts, others, date1904


def sheet_parts(path: Path, archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the package part holding it."""
    return _workbook_parts(path, archive)[0]


def read_sheets(path: Path, titles: list[str]) -> dict[str, Sheet]:
    """The sheets of `titles` the workbook has (after preflight); others are not read."""
    with zipfile.ZipFile(path) as archive:
        parts, others, date1904 = _workbook_parts(path, archive)
        wanted = [title for title in titles if title in parts]
        if not wanted:
            return {}
        book = _Book(
            _texts(path, archive, others.get("sharedStrings", "xl/sharedStrings.xml")),
            _styles(path, archive, others.get("styles", "xl/styles.xml")),
            _DateSystem(date1904),
        )
        return {title: _read_sheet(path, archive, title, parts[title], book) for title in wanted}
