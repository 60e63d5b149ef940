"""Read the manager's workbook: locate sheets, headers and labels, check every cell, build the model.

Columns are found by header text and key-value rows by label, never by position, and every
value remembers the cell it came from, so each finding (ours or pydantic's) names its cell.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from opsdoc.contract.findings import Cell, Finding, finding
from opsdoc.contract.model import SHEET_BY_TITLE, SHEETS, Document, SheetSpec
from opsdoc.contract.vocabulary import PLACEHOLDER
from opsdoc.office.xlsx import Sheet, column_letter, preflight, read_sheets
from opsdoc.workbook.cells import Cells, Loc, Table

MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell; anything longer came from elsewhere

# Characters that cannot be stored in Word's XML (tab and newline are fine).
ILLEGAL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def normalise_label(text: Any) -> str:
    """Header and label text as compared: NFKC, trimmed, without a trailing ':' or '*'."""
    return unicodedata.normalize("NFKC", str(text)).strip().rstrip(":*").strip()


@dataclass
class Workbook:
    """What was read: the model (None when a cell blocks validation), cells, and findings."""

    path: Path
    document: Document | None
    cells: Cells
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # what was read, keyed by sheet, header and label
    invalid: list[Loc] = field(default_factory=list)  # every value the model refused, reported or not


Record = dict[str, Any]  # one record or key-value sheet, keyed by header or label


class WorkbookReader:
    """Turns sheets into the alias-keyed dict the model validates, recording cells and findings."""

    def __init__(self, path: Path):
        self.path = path
        self.cells = Cells()
        self.findings: list[Finding] = []
        self.blocked: set[Loc] = set()  # values already reported; pydantic's word on them is noise

    def report(self, code: str, sheet: str, cell: str | None, message: str) -> None:
        self.findings.append(finding(code, Cell(sheet, cell), message))

    def read(self) -> Workbook:
        return self.validate(self.read_sheets())

    def read_sheets(self) -> dict[str, Any]:
        """Stage one: every sheet as alias-keyed records, with cell-level findings."""
        sheets = read_sheets(self.path, [spec.title for spec in SHEETS])
        data: dict[str, Any] = {}
        for spec in SHEETS:
            sheet = sheets.get(spec.title)
            if sheet is None:
                if spec.required:
                    self.report("missing-sheet", spec.title, None, f"缺少工作表「{spec.title}」（{spec.purpose}）")
                    self.blocked.add((spec.title,))
                continue
            grid = self._grid(spec, sheet)
            data[spec.title] = self._table(spec, grid) if spec.is_table else self._key_values(spec, grid)
        return data

    def _grid(self, spec: SheetSpec, sheet: Sheet) -> list[list[Any]]:
        """Cell values by (row, column), checked and cleaned; None for empty or unusable cells.

        A cell is named (B3) only when it is reported: naming each of a register's cells
        cost a tenth of reading it."""
        grid: list[list[Any]] = []
        flagged = sheet.uncached or sheet.problems or sheet.errors  # cells the sheet reader could not read
        for r, row in enumerate(sheet.rows, start=1):
            values = []
            for c, value in enumerate(row, start=1):
                if flagged and self._unreadable(spec, sheet, f"{column_letter(c)}{r}"):
                    value = _BLOCKED
                elif isinstance(value, str):
                    if len(value) > MAX_CELL_CHARS:
                        self.report(
                            "cell-too-long",
                            spec.title,
                            f"{spec.title}!{column_letter(c)}{r}",
                            f"单元格有 {len(value)} 个字符，超过 Excel 单元格上限 {MAX_CELL_CHARS}：请拆分或精简",
                        )
                        value = _BLOCKED
                    else:
                        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
                        bad = ILLEGAL_CHARACTER.search(value)
                        if bad:
                            self.report(
                                "illegal-character",
                                spec.title,
                                f"{spec.title}!{column_letter(c)}{r}",
                                f"含有 Word 无法保存的控制字符 U+{ord(bad.group()):04X}，请删除后重新输入该单元格",
                            )
                            value = _BLOCKED
                        elif value == "":
                            value = None
                values.append(value)
            grid.append(values)
        self._unmerge(spec, sheet, grid)
        return grid

    def _unreadable(self, spec: SheetSpec, sheet: Sheet, at: str) -> bool:
        """Report the cell at `at` if the sheet reader could not read its value."""
        ref = f"{spec.title}!{at}"
        if at in sheet.uncached:
            self.report(
                "formula-no-value",
                spec.title,
                ref,
                "公式没有计算结果：请在 Excel/WPS 中打开并保存后再试，或直接填写数值",
            )
        elif at in sheet.problems:
            code, message = sheet.problems[at]
            self.report(code, spec.title, ref, message)
        elif at in sheet.errors:
            self.report("error-cell", spec.title, ref, f"单元格是错误值 {sheet.errors[at]}，请改正公式或填写实际内容")
        else:
            return False
        return True

    def _unmerge(self, spec: SheetSpec, sheet: Sheet, grid: list[list[Any]]) -> None:
        """A table's merge down one column means one value for those rows (a manager's merged 服务方式):
        the covered cells take the anchor's value. Any other merge leaves cells without a clear value."""
        for first_row, column, last_row, last_column in sheet.merged:
            area = f"{column_letter(column)}{first_row}:{column_letter(last_column)}{last_row}"
            if spec.is_table and first_row > 1 and column == last_column:
                top = grid[first_row - 1] if first_row <= len(grid) else []
                anchor = top[column - 1] if len(top) >= column else None
                for r in range(first_row, last_row):
                    while len(grid) <= r:
                        grid.append([])
                    row = grid[r]
                    row.extend([None] * (column - len(row)))
                    row[column - 1] = anchor
            else:
                where = "表头" if spec.is_table and first_row == 1 else ("多列" if spec.is_table else "键值表")
                self.report(
                    "merged-cells",
                    spec.title,
                    f"{spec.title}!{area}",
                    f"{where}中的合并单元格 {area} 无法确定每个单元格的值：请取消合并，并在每个单元格中填写内容",
                )

    def _take(self, spec: SheetSpec, loc: Loc, value: Any, into: Record, key: str) -> None:
        if value is _BLOCKED:
            self.blocked.add(loc)
        elif value is not None:
            placeholder = PLACEHOLDER.search(value) if isinstance(value, str) else None
            if placeholder:
                self.report(
                    "placeholder-text",
                    spec.title,
                    self.cells.find(loc),
                    f"「{placeholder.group().strip()}」是模板占位内容，请替换为本项目的实际内容",
                )
            into[key] = value

    def _table(self, spec: SheetSpec, grid: list[list[Any]]) -> list[Record]:
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
                shown = re.sub(r"\r\n|[\r\n]", "↵", str(text))  # a finding is one line; ↵ marks the header's break
                self.report("unknown-column", spec.title, ref, f"表头「{shown}」{why}，该列内容不会写入文档")
            else:
                columns[known] = c
        for col in spec.columns:
            if col.label not in columns and col.required:
                self.report("missing-column", spec.title, f"{spec.title}!1:1", f"缺少必填列「{col.label}」：{col.hint}")
                self.blocked.add((spec.title, "*", col.label))
        records: list[Record] = []
        absent = {col.label for col in spec.columns if col.label not in columns}
        table = Table(spec.title, {label: column_letter(c + 1) for label, c in columns.items()}, absent)
        self.cells.tables[spec.title] = table
        for r, row in enumerate(grid[1:], start=2):
            if all(v is None for v in row):
                continue
            index = len(records)
            table.rows.append(r)
            record: Record = {}
            for label, c in columns.items():
                self._take(spec, (spec.title, index, label), row[c] if c < len(row) else None, record, label)
            records.append(record)
        if not records:
            self.cells.refs[(spec.title,)] = f"{spec.title}!A2"
        return records

    def _key_values(self, spec: SheetSpec, grid: list[list[Any]]) -> Record:
        values: Record = {}
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
                    self.report(
                        "unknown-label", spec.title, f"{spec.title}!A{r}", f"「{row[0]}」{why}，其内容不会写入文档"
                    )
                continue
            found.add(known)
            self.cells.refs[(spec.title, known)] = f"{spec.title}!B{r}"
            self._take(spec, (spec.title, known), value, values, known)
        for col in spec.columns:
            if col.label not in found and col.required:
                self.report("missing-label", spec.title, f"{spec.title}!A:A", f"A列缺少项目「{col.label}」：{col.hint}")
                self.blocked.add((spec.title, col.label))
        return values

    def validate(self, data: dict[str, Any]) -> Workbook:
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

    def _translate(self, error: ErrorDetails) -> None:
        loc = tuple(error["loc"])
        if self._is_blocked(loc):
            return
        spec = SHEET_BY_TITLE[str(loc[0])]
        label = loc[-1] if len(loc) > 1 and isinstance(loc[-1], str) else None
        ref = self.cells.find(loc) or self.cells.find(loc[:1]) or spec.title
        kind = error["type"]
        if kind == "missing":
            if len(loc) == 1:
                message = f"工作表「{spec.title}」没有数据，请至少填写一行"
            else:
                message = f"「{label}」为必填项，请填写：{spec.column(str(label)).hint}"
            self.report("missing-value", spec.title, ref, message)
        elif kind == "too_short":
            self.report("missing-value", spec.title, ref, f"工作表「{spec.title}」没有数据，请至少填写一行")
        elif kind == "literal_error":
            choices = "/".join(spec.column(str(label)).choices)
            self.report("bad-choice", spec.title, ref, f"「{error['input']}」不是可选值，请从下拉列表中选择：{choices}")
        elif kind in ("bad-date", "bad-number", "bad-choice", "bad-value"):
            self.report(kind, spec.title, ref, f"{label}：{error['msg']}" if label else error["msg"])
        else:  # a value of a shape no contract type expects; say so rather than lose it
            self.report("bad-value", spec.title, ref, f"{label}：值无法识别（{error['msg']}）")

    def _is_blocked(self, loc: Loc) -> bool:
        if loc[:1] in self.blocked or loc in self.blocked:
            return True
        return len(loc) == 3 and (loc[0], "*", loc[2]) in self.blocked


_BLOCKED = object()  # a cell already reported as unreadable


def read_workbook(path: Path | str) -> Workbook:
    """Read and validate a workbook; raises UnusableWorkbook only when it cannot be read at all."""
    path = Path(path)
    preflight(path)
    return WorkbookReader(path).read()
