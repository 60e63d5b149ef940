"""Read the manager's workbook: locate sheets, headers and labels, check every cell, build the model.

Columns are found by header text and key-value rows by label, never by position, and every
value remembers the cell it came from, so each finding (ours or pydantic's) names its cell.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from opsdoc.errors import UnusableWorkbook
from opsdoc.model import SHEET_BY_TITLE, SHEETS, Document, SheetSpec
from opsdoc.report import Finding, Location
from opsdoc.rules import finding

Loc = tuple  # ("修订记录", 2, "修订日期") for a table cell, ("文档信息", "版本号") for a label

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"

# Limits far above any real workbook (a 20k-row register is a few MB), checked before parsing.
MAX_MEMBERS = 1_000  # files inside the .xlsx archive; Excel writes a few dozen
MAX_MEMBER_BYTES = 256 * 2**20  # uncompressed size of one part
MAX_TOTAL_BYTES = 512 * 2**20  # uncompressed size of all parts
MAX_RATIO = 500  # compression ratio of a part over 1 MiB; sheet XML compresses 10–50×, zip bombs 1000×+
MAX_ROWS = 100_000  # filled rows per sheet
MAX_COLUMNS = 256  # columns per sheet: a sheet's <dimension> can claim 16384 and lie
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell; anything longer came from elsewhere

# Characters that cannot be stored in Word's XML (tab and newline are fine).
ILLEGAL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# How Excel stores characters XML cannot hold (and a literal "_x" as _x005F_); openpyxl keeps them raw.
EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Leftovers of the company template and its guidance text.
PLACEHOLDER = re.compile(
    r"X{2,}|(?i:vx\.y|yyyy[-/.年]?mm[-/.月]?dd日?)|【[^】]*】?|】|编制人姓名|审核人姓名|批准人姓名"
)


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

    def cell(self, sheet_field: str, *path: Any) -> str:
        """The cell of a value named by model field names, e.g. ("revisions", 2, "version")."""
        spec = next(s for s in SHEETS if s.name == sheet_field)
        names = {c.name: c.label for c in spec.columns}
        loc = (spec.title, *(names.get(p, p) for p in path))
        return self.cells.get(loc, spec.title)

    def location(self, sheet_field: str, *path: Any) -> Location:
        """Where a value is; with no path, the whole sheet."""
        spec = next(s for s in SHEETS if s.name == sheet_field)
        return Location(spec.title, self.cell(sheet_field, *path) if path else None)


def preflight(path: Path) -> None:
    """Refuse, before parsing, what is not a readable .xlsx."""
    if not path.exists():
        raise UnusableWorkbook(path, "文件不存在")
    if path.is_dir():
        raise UnusableWorkbook(path, "这是一个文件夹，请给出 .xlsx 工作簿文件")
    with path.open("rb") as stream:
        head = stream.read(8)
    if not head:
        raise UnusableWorkbook(path, "文件是空的（0 字节），请重新保存工作簿")
    if head.startswith(OLE2_SIGNATURE):
        raise UnusableWorkbook(
            path,
            "这是加密的工作簿或旧版 .xls 文件：请在 Excel/WPS 中取消密码保护，并“另存为”.xlsx 格式",
        )
    if not head.startswith(ZIP_SIGNATURE) or not zipfile.is_zipfile(path):
        raise UnusableWorkbook(path, "不是 .xlsx 工作簿（无法识别的文件格式），请用 Excel/WPS 另存为 .xlsx")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            mimetype = archive.read("mimetype")[:100] if "mimetype" in archive.namelist() else b""
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise UnusableWorkbook(path, f"工作簿已损坏，无法打开（{exc}）") from None
    _check_archive(path, members)
    names = {m.filename for m in members}
    if b"opendocument" in mimetype:
        raise UnusableWorkbook(path, "这是 OpenDocument 表格（.ods）：请在 WPS/LibreOffice 中另存为 .xlsx")
    if "word/document.xml" in names:
        raise UnusableWorkbook(path, "这是 Word 文档，不是工作簿：请给出填写好的 .xlsx 数据工作簿")
    if "xl/workbook.bin" in names:
        raise UnusableWorkbook(path, "这是二进制工作簿（.xlsb）：请在 Excel 中另存为 .xlsx")
    if "xl/workbook.xml" not in names:
        raise UnusableWorkbook(path, "压缩包中没有工作簿内容，不是 .xlsx 文件")


def _check_archive(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Reject zip bombs from the archive's directory, before decompressing anything.

    zipfile never yields more bytes than an entry declares (and fails its CRC if the data
    holds more), so the declared sizes bound what parsing can ever produce.
    """
    if len(members) > MAX_MEMBERS:
        raise UnusableWorkbook(path, f"压缩包内有 {len(members)} 个文件，超过上限 {MAX_MEMBERS}：不是正常的工作簿")
    total = 0
    for member in members:
        size = member.file_size
        if size > MAX_MEMBER_BYTES:
            raise UnusableWorkbook(path, f"「{member.filename}」解压后 {size // 2**20} MB，超过上限 {MAX_MEMBER_BYTES // 2**20} MB")
        if size > 2**20 and size > MAX_RATIO * max(member.compress_size, 1):
            raise UnusableWorkbook(
                path, f"「{member.filename}」的压缩比超过 {MAX_RATIO}:1，疑似压缩炸弹，已拒绝读取"
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise UnusableWorkbook(path, f"工作簿解压后共 {total // 2**20} MB，超过上限 {MAX_TOTAL_BYTES // 2**20} MB")


def _open(path: Path, data_only: bool, files: ExitStack):
    """Open read-only; the file handle is ours, so it is closed even when openpyxl fails half-way."""
    stream = files.enter_context(path.open("rb"))
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many kinds for a damaged package
        raise _unreadable(path, exc, "工作簿") from None
    files.callback(book.close)
    return book


def _unreadable(path: Path, exc: BaseException, what: str) -> UnusableWorkbook:
    """openpyxl wraps XML errors in ValueError; the cause tells a hostile file from a damaged one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return UnusableWorkbook(path, f"{what}含有被禁止的 XML 结构（{type(cause).__name__}），疑似恶意文件")
        cause = cause.__cause__ or cause.__context__
    return UnusableWorkbook(path, f"{what}已损坏或不是 Excel 工作簿，无法读取（{type(exc).__name__}）")


class WorkbookReader:
    """Turns sheets into the alias-keyed dict the model validates, recording cells and findings."""

    def __init__(self, path: Path):
        self.path = path
        self.cells: dict[Loc, str] = {}
        self.findings: list[Finding] = []
        self.blocked: set[Loc] = set()  # values already reported; pydantic's word on them is noise
        self.bad_serials: dict[str, float] = {}

    def report(self, code: str, sheet: str, cell: str | None, message: str, related=()) -> None:
        self.findings.append(finding(code, Location(sheet, cell), message, related))

    def read(self) -> Workbook:
        return self.validate(self.read_sheets())

    def read_sheets(self) -> dict[str, Any]:
        """Stage one: every sheet as alias-keyed records, with cell-level findings."""
        with ExitStack() as files:
            return self._read_sheets(files)

    def _read_sheets(self, files: ExitStack) -> dict[str, Any]:
        book = _open(self.path, data_only=False, files=files)
        cached = None
        data: dict[str, Any] = {}
        for spec in SHEETS:
            if spec.title not in book.sheetnames:
                if spec.required:
                    self.report("missing-sheet", spec.title, None, f"缺少工作表「{spec.title}」（{spec.purpose}）")
                    self.blocked.add((spec.title,))
                continue
            rows, self.bad_serials = _rows(self.path, book[spec.title])
            if any(c.data_type == "f" for row in rows for c in row if c.value is not None):
                cached = cached or _open(self.path, data_only=True, files=files)
                cached_rows = [[c.value for c in row] for row in _rows(self.path, cached[spec.title])[0]]
            else:
                cached_rows = None
            grid = self._grid(spec, rows, cached_rows)
            data[spec.title] = self._table(spec, grid) if spec.is_table else self._key_values(spec, grid)
        return data

    def _grid(self, spec: SheetSpec, rows, cached_rows) -> list[list[Any]]:
        """Cell values by (row, column), checked and cleaned; None for empty or unusable cells."""
        grid = []
        for r, row in enumerate(rows, start=1):
            values = []
            for c, cell in enumerate(row, start=1):
                ref = f"{spec.title}!{get_column_letter(c)}{r}"
                value = cell.value
                if ref in self.bad_serials:  # a number in a date-formatted cell, beyond any date
                    value = self.bad_serials[ref]
                elif cell.data_type == "f" and value is not None:
                    value = _at(cached_rows, r, c)
                    if value is None:
                        self.report("formula-no-value", spec.title, ref, "公式没有计算结果：请在 Excel/WPS 中打开并保存后再试，或直接填写数值")
                        value = _BLOCKED
                elif cell.data_type == "e":
                    self.report("error-cell", spec.title, ref, f"单元格是错误值 {value}，请改正公式或填写实际内容")
                    value = _BLOCKED
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    self.report("cell-too-long", spec.title, ref,
                                f"单元格有 {len(value)} 个字符，超过 Excel 单元格上限 {MAX_CELL_CHARS}：请拆分或精简")
                    value = _BLOCKED
                if isinstance(value, str):
                    value = EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
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
            ref = f"{spec.title}!{get_column_letter(c + 1)}1"
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
                ref = f"{spec.title}!{get_column_letter(c + 1)}{r}"
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
        try:
            document = Document.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self._translate(error)
            document = None
        return Workbook(self.path, document, self.cells, self.findings)

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


# openpyxl warns, then turns the cell into #VALUE!, when a date-formatted number is no date.
_BAD_SERIAL = re.compile(r"Cell (\w+) is marked as a date but the serial value (\S+) is outside")


def _rows(path: Path, sheet) -> tuple[list, dict[str, float]]:
    """All rows of a sheet within the limits, and the cells whose date serial openpyxl could not convert.

    openpyxl's warnings (unsupported extensions and the like) are its own business, not the
    manager's; they are kept off the terminal.
    """
    sheet.reset_dimensions()  # rows as stored, not padded to what <dimension> claims
    rows, filled = [], 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for row in sheet.iter_rows(values_only=False):
                if len(row) > MAX_COLUMNS:
                    if any(c.value is not None for c in row[MAX_COLUMNS:]):
                        raise UnusableWorkbook(
                            path, f"工作表「{sheet.title}」第 {len(rows) + 1} 行在第 {MAX_COLUMNS} 列之后还有内容，超出列数上限"
                        )
                    row = row[:MAX_COLUMNS]
                filled += any(c.value is not None for c in row)
                if filled > MAX_ROWS:
                    raise UnusableWorkbook(path, f"工作表「{sheet.title}」超过 {MAX_ROWS} 行数据，超出上限")
                rows.append(row)
        except (DefusedXmlException, ParseError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise _unreadable(path, exc, f"工作表「{sheet.title}」") from None
    bad = {}
    for warning in caught:
        match = _BAD_SERIAL.search(str(warning.message))
        if match:
            bad[f"{sheet.title}!{match.group(1)}"] = float(match.group(2))
    return rows, bad


def _at(rows, r: int, c: int) -> Any:
    if rows is None or r > len(rows) or c > len(rows[r - 1]):
        return None
    return rows[r - 1][c - 1]


def read_workbook(path: Path | str) -> Workbook:
    """Read and validate a workbook; raises UnusableWorkbook only when it cannot be read at all."""
    path = Path(path)
    preflight(path)
    return WorkbookReader(path).read()
