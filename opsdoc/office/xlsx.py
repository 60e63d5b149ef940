"""An .xlsx package read safely: its sheets by name, their values, error cells and uncached formulas."""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from python_calamine import CalamineError, CalamineWorkbook

from opsdoc.errors import UnusableWorkbook
from opsdoc.office.package import WORKBOOK, open_package

# Limits on what a sheet may hold; the package's own limits are in opsdoc.office.package.
MAX_ROWS = 100_000  # filled rows per sheet
MAX_COLUMNS = 256  # columns per sheet: a sheet's <dimension> can claim 16384 and lie
MAX_AREA = 5_000_000  # rows × columns spanned by the filled cells: the reader holds that grid


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
class SheetScan:
    """What a sheet's values alone do not say: its extent, and which cells hold errors or formulas."""

    errors: dict[str, str]  # "B3" → "#DIV/0!"
    uncached: set[str]  # formula cells without a cached result


# A cell element with its attributes and content; writers may prefix the namespace (x:c).
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")


def scan_sheet(path: Path, title: str, xml: bytes) -> SheetScan:
    """One pass over the raw sheet XML, before any grid is built: the caps, errors and formulas.

    The value reader allocates the whole rectangle its filled cells span, so the limits are
    enforced here, from the cells' own references (the sheet's <dimension> can lie).
    """
    errors: dict[str, str] = {}
    uncached: set[str] = set()
    rows: set[int] = set()
    last_column = 0
    for cell in _CELL.finditer(xml):
        attributes, content = cell.group(1), cell.group(2) or b""
        ref = _REF.search(attributes)
        if ref is None or not content.strip():
            continue  # an empty, formatted cell holds nothing to read
        letters, row = ref.group(1).decode(), int(ref.group(2))
        column = column_index(letters)
        if column > MAX_COLUMNS:
            raise UnusableWorkbook(
                path, f"工作表「{title}」的 {letters}{row} 在第 {MAX_COLUMNS} 列之后还有内容，超出列数上限"
            )
        rows.add(row)
        last_column = max(last_column, column)
        if len(rows) > MAX_ROWS:
            raise UnusableWorkbook(path, f"工作表「{title}」超过 {MAX_ROWS} 行数据，超出上限")
        value = _VALUE.search(content)
        kind = _TYPE.search(attributes)
        if kind and kind.group(1) == b"e":
            errors[f"{letters}{row}"] = value.group(1).decode() if value else "#N/A"
        elif _FORMULA.search(content) and not (value and value.group(1)):
            uncached.add(f"{letters}{row}")
    if rows and max(rows) * last_column > MAX_AREA:
        raise UnusableWorkbook(path, f"工作表「{title}」的数据范围（{max(rows)} 行 × {last_column} 列）超出上限")
    return SheetScan(errors, uncached)


def _read_part(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _unreadable(path, exc, f"「{name}」") from None


def _values(path: Path, book: CalamineWorkbook, title: str) -> list[list[Any]]:
    """The sheet's values as Excel shows them, from A1: dates as dates, numbers as numbers."""
    try:
        return book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise _unreadable(path, exc, f"工作表「{title}」") from None
    except BaseException as exc:  # the Rust reader panics (pyo3's PanicException) on absurd dates
        if type(exc).__name__ != "PanicException":
            raise
        raise UnusableWorkbook(
            path, f"工作表「{title}」有无法读取的单元格（{exc}）：请检查日期格式的单元格里是否填了过大的数字"
        ) from None


def sheet_parts(path: Path, archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the package part holding it, from workbook.xml and its relationships."""
    try:
        book = fromstring(archive.read("xl/workbook.xml"))
        rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, DefusedXmlException, SyntaxError) as exc:
        raise _unreadable(path, exc, "工作簿") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels if r.tag.endswith("Relationship")}
    parts = {}
    for sheet in book.iter():
        if sheet.tag.endswith("}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            parts[sheet.get("name")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            )
    return parts


@dataclass
class Sheet:
    """One sheet as Excel shows it: values from A1 (None for empty), and the cells that hold no value."""

    title: str
    rows: list[list[Any]]
    errors: dict[str, str]  # "B3" → "#DIV/0!"
    uncached: set[str]  # formula cells without a cached result


def read_sheets(path: Path, titles: list[str]) -> dict[str, Sheet]:
    """The sheets of `titles` the workbook has (after preflight); others are not read."""
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(path, archive)
        try:
            book = CalamineWorkbook.from_path(str(path))
        except CalamineError as exc:
            raise _unreadable(path, exc, "工作簿") from None
        sheets = {}
        for title in titles:
            if title in parts:
                scan = scan_sheet(path, title, _read_part(path, archive, parts[title]))
                sheets[title] = Sheet(title, _values(path, book, title), scan.errors, scan.uncached)
        return sheets
