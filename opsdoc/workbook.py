"""Read the manager's workbook: locate sheets, headers and labels, check every cell, build the model.

Columns are found by header text and key-value rows by label, never by position, and every
value remembers the cell it came from, so each finding (ours or pydantic's) names its cell.
"""

from __future__ import annotations

import copy
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError
from python_calamine import CalamineError, CalamineWorkbook

from opsdoc.errors import UnusableWorkbook
from opsdoc.package import WORKBOOK, open_package
from opsdoc.model import SHEET_BY_NAME, SHEET_BY_TITLE, SHEETS, Document, SheetSpec
from opsdoc.report import Finding, Location
from opsdoc.rules import finding

Loc = tuple  # ("修订记录", 2, "修订日期") for a table cell, ("文档信息", "版本号") for a label

# Limits on what a sheet may hold; the package's own limits are in opsdoc.package.
MAX_ROWS = 100_000  # filled rows per sheet
MAX_COLUMNS = 256  # columns per sheet: a sheet's <dimension> can claim 16384 and lie
MAX_AREA = 5_000_000  # rows × columns spanned by the filled cells: the reader holds that grid
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell; anything longer came from elsewhere

# Characters that cannot be stored in Word's XML (tab and newline are fine).
ILLEGAL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Leftovers of the company template and its guidance text.
PLACEHOLDER = re.compile(
    r"X{2,}|(?i:vx\.y|yyyy[-/.年]?mm[-/.月]?dd日?)|【[^】]*】?|】|编制人姓名|审核人姓名|批准人姓名|〔待填写〕"
)


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


def normalise_label(text: Any) -> str:
    """Header and label text as compared: NFKC, trimmed, without a trailing ':' or '*'."""
    return unicodedata.normalize("NFKC", str(text)).strip().rstrip(":*").strip()


@dataclass
class Workbook:
    """What was read: the model (None when a cell blocks validation), cells, and findings."""

    path: Path
    document: Document | None
    cells: dict[Loc, str]
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # what was read, keyed by sheet, header and label
    invalid: list[Loc] = field(default_factory=list)  # every value the model refused, reported or not

    def cell(self, sheet_field: str, *path: Any) -> str:
        """The cell of a value named by model field names, e.g. ("revisions", 2, "version")."""
        spec = SHEET_BY_NAME[sheet_field]
        loc = (spec.title, *(spec.label_of(p) for p in path))
        return self.cells.get(loc, spec.title)

    def location(self, sheet_field: str, *path: Any) -> Location:
        """Where a value is; with no path, the whole sheet."""
        spec = SHEET_BY_NAME[sheet_field]
        return Location(spec.title, self.cell(sheet_field, *path) if path else None)


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
            raise UnusableWorkbook(path, f"工作表「{title}」的 {letters}{row} 在第 {MAX_COLUMNS} 列之后还有内容，超出列数上限")
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


def _sheet_parts(path: Path, archive: zipfile.ZipFile) -> dict[str, str]:
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
            parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return parts


class WorkbookReader:
    """Turns sheets into the alias-keyed dict the model validates, recording cells and findings."""

    def __init__(self, path: Path):
        self.path = path
        self.cells: dict[Loc, str] = {}
        self.findings: list[Finding] = []
        self.blocked: set[Loc] = set()  # values already reported; pydantic's word on them is noise

    def report(self, code: str, sheet: str, cell: str | None, message: str, related=()) -> None:
        self.findings.append(finding(code, Location(sheet, cell), message, related))

    def read(self) -> Workbook:
        return self.validate(self.read_sheets())

    def read_sheets(self) -> dict[str, Any]:
        """Stage one: every sheet as alias-keyed records, with cell-level findings."""
        with zipfile.ZipFile(self.path) as archive:
            return self._read_sheets(archive)

    def _read_sheets(self, archive: zipfile.ZipFile) -> dict[str, Any]:
        parts = _sheet_parts(self.path, archive)
        try:
            book = CalamineWorkbook.from_path(str(self.path))
        except CalamineError as exc:
            raise _unreadable(self.path, exc, "工作簿") from None
        data: dict[str, Any] = {}
        for spec in SHEETS:
            if spec.title not in parts:
                if spec.required:
                    self.report("missing-sheet", spec.title, None, f"缺少工作表「{spec.title}」（{spec.purpose}）")
                    self.blocked.add((spec.title,))
                continue
            scan = scan_sheet(self.path, spec.title, _read_part(self.path, archive, parts[spec.title]))
            values = _values(self.path, book, spec.title)
            grid = self._grid(spec, values, scan)
            data[spec.title] = self._table(spec, grid) if spec.is_table else self._key_values(spec, grid)
        return data

    def _grid(self, spec: SheetSpec, rows: list[list[Any]], scan: SheetScan) -> list[list[Any]]:
        """Cell values by (row, column), checked and cleaned; None for empty or unusable cells."""
        grid = []
        for r, row in enumerate(rows, start=1):
            values = []
            for c, value in enumerate(row, start=1):
                at = f"{column_letter(c)}{r}"
                ref = f"{spec.title}!{at}"
                if at in scan.uncached:
                    self.report("formula-no-value", spec.title, ref, "公式没有计算结果：请在 Excel/WPS 中打开并保存后再试，或直接填写数值")
                    value = _BLOCKED
                elif at in scan.errors:
                    self.report("error-cell", spec.title, ref, f"单元格是错误值 {scan.errors[at]}，请改正公式或填写实际内容")
                    value = _BLOCKED
                elif isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    self.report("cell-too-long", spec.title, ref,
                                f"单元格有 {len(value)} 个字符，超过 Excel 单元格上限 {MAX_CELL_CHARS}：请拆分或精简")
                    value = _BLOCKED
                elif isinstance(value, str):
                    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
                    bad = ILLEGAL_CHARACTER.search(value)
                    if bad:
                        self.report(
                            "illegal-character", spec.title, ref,
                            f"含有 Word 无法保存的控制字符 U+{ord(bad.group()):04X}，请删除后重新输入该单元格",
                        )
                        value = _BLOCKED
                    elif value == "":
                        value = None
                values.append(value)
            grid.append(values)
        return grid

    def _check_text(self, sheet: str, ref: str, value: Any) -> None:
        if isinstance(value, str):
            match = PLACEHOLDER.search(value)
            if match:
                self.report("placeholder-text", sheet, ref, f"「{match.group().strip()}」是模板占位内容，请替换为本项目的实际内容")

    def _take(self, spec: SheetSpec, loc: Loc, ref: str, value: Any, into: dict, key: str) -> None:
        self.cells[loc] = ref
        if value is _BLOCKED:
            self.blocked.add(loc)
        elif value is not None:
            self._check_text(spec.title, ref, value)
            into[key] = value

    def _table(self, spec: SheetSpec, grid: list[list[Any]]) -> list[dict]:
        header = grid[0] if grid else []
        columns: dict[str, int] = {}
        for c, text in enumerate(header):
            if text is None or text is _BLOCKED:
                continue
            label = normalise_label(text)
            ref = f"{spec.title}!{column_letter(c + 1)}1"
            known = next((col.label for col in spec.columns if normalise_label(col.label) == label), None)
            if known is None or known in columns:
                why = "重复的表头" if known else "不是本表的列"
                self.report("unknown-column", spec.title, ref, f"表头「{text}」{why}，该列内容不会写入文档")
            else:
                columns[known] = c
        for col in spec.columns:
            if col.label not in columns and col.required:
                self.report("missing-column", spec.title, f"{spec.title}!1:1", f"缺少必填列「{col.label}」：{col.hint}")
                self.blocked.add((spec.title, "*", col.label))
        records = []
        for r, row in enumerate(grid[1:], start=2):
            if all(v is None for v in row):
                continue
            index = len(records)
            record: dict[str, Any] = {}
            for label, c in columns.items():
                ref = f"{spec.title}!{column_letter(c + 1)}{r}"
                self._take(spec, (spec.title, index, label), ref, row[c] if c < len(row) else None, record, label)
            for label in spec.columns:
                if label.label not in columns:
                    self.cells[(spec.title, index, label.label)] = f"{spec.title}!{r}:{r}"
            records.append(record)
        if not records:
            self.cells[(spec.title,)] = f"{spec.title}!A2"
        return records

    def _key_values(self, spec: SheetSpec, grid: list[list[Any]]) -> dict:
        values: dict[str, Any] = {}
        found: set[str] = set()
        for r, row in enumerate(grid, start=1):
            if not row or row[0] is None or row[0] is _BLOCKED:
                continue
            label = normalise_label(row[0])
            known = next((col.label for col in spec.columns if normalise_label(col.label) == label), None)
            value = row[1] if len(row) > 1 else None
            if known is None or known in found:
                if value is not None and value is not _BLOCKED:
                    why = "重复的项目" if known else "不是本表的项目"
                    self.report("unknown-label", spec.title, f"{spec.title}!A{r}", f"「{row[0]}」{why}，其内容不会写入文档")
                continue
            found.add(known)
            self._take(spec, (spec.title, known), f"{spec.title}!B{r}", value, values, known)
        for col in spec.columns:
            if col.label not in found and col.required:
                self.report("missing-label", spec.title, f"{spec.title}!A:A", f"A列缺少项目「{col.label}」：{col.hint}")
                self.blocked.add((spec.title, col.label))
        return values

    def validate(self, data: dict) -> Workbook:
        """Stage two: the model, with pydantic's errors as findings at their cells."""
        invalid: list[Loc] = []
        try:
            document = Document.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                invalid.append(tuple(error["loc"]))
                self._translate(error)
            document = None
        return Workbook(self.path, document, self.cells, self.findings, data, invalid)

    def _translate(self, error: dict) -> None:
        loc = tuple(error["loc"])
        if self._is_blocked(loc):
            return
        spec = SHEET_BY_TITLE[loc[0]]
        label = loc[-1] if len(loc) > 1 and isinstance(loc[-1], str) else None
        ref = self.cells.get(loc, self.cells.get(loc[:1], spec.title))
        kind = error["type"]
        if kind == "missing":
            if len(loc) == 1:
                message = f"工作表「{spec.title}」没有数据，请至少填写一行"
            else:
                message = f"「{label}」为必填项，请填写：{spec.column(label).hint}"
            self.report("missing-value", spec.title, ref, message)
        elif kind == "too_short":
            self.report("missing-value", spec.title, ref, f"工作表「{spec.title}」没有数据，请至少填写一行")
        elif kind == "literal_error":
            choices = "/".join(spec.column(label).choices)
            self.report("bad-choice", spec.title, ref, f"「{error['input']}」不是可选值，请从下拉列表中选择：{choices}")
        elif kind in ("bad-date", "bad-number", "bad-choice"):
            self.report(kind, spec.title, ref, f"{label}：{error['msg']}" if label else error["msg"])
        else:  # a value of a shape no contract type expects; say so rather than lose it
            self.report("bad-value", spec.title, ref, f"{label}：值无法识别（{error['msg']}）")

    def _is_blocked(self, loc: Loc) -> bool:
        if loc[:1] in self.blocked or loc in self.blocked:
            return True
        return len(loc) == 3 and (loc[0], "*", loc[2]) in self.blocked


_BLOCKED = object()  # a cell already reported as unreadable


PENDING = "〔待填写〕"  # what a draft shows where the workbook has no usable value yet


def _stand_in(column) -> Any:
    """A value the model accepts in place of a missing or unreadable one, for drafts only."""
    if column.choices:
        return column.choices[0]
    return {"date": date(1900, 1, 1), "number": 1}.get(column.kind, PENDING)


def draft_document(workbook: Workbook) -> tuple[Document, list[tuple[str, int | None, str]]]:
    """The document with a stand-in for every value the model refused, and where each stands.

    A draft is a preview while the workbook is still being filled: rather than refuse, it
    shows 〔待填写〕 at each such place (see pipeline). Places are (sheet field, record
    index or None, column field).
    """
    data = copy.deepcopy(workbook.data)
    pending = []
    for loc in workbook.invalid:
        spec = SHEET_BY_TITLE[loc[0]]
        if len(loc) == 1:  # a missing sheet or a table without rows: one record of stand-ins
            record = {c.label: _stand_in(c) for c in spec.columns if c.required}
            data[spec.title] = [record] if spec.is_table else record
            pending += [(spec.name, 0 if spec.is_table else None, c.name) for c in spec.columns if c.required]
            continue
        index = loc[1] if spec.is_table else None
        column = spec.column(loc[-1])
        target = data[spec.title][index] if spec.is_table else data.setdefault(spec.title, {})
        target[column.label] = _stand_in(column)
        pending.append((spec.name, index, column.name))
    return Document.model_validate(data), pending


def read_workbook(path: Path | str) -> Workbook:
    """Read and validate a workbook; raises UnusableWorkbook only when it cannot be read at all."""
    path = Path(path)
    preflight(path)
    return WorkbookReader(path).read()
