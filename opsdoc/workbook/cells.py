"""Where each value of the model was read: the map from model paths to workbook cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsdoc.contract.findings import Cell
from opsdoc.contract.model import SHEET_BY_NAME

Loc = tuple[Any, ...]
"""A value by sheet title, record index and header: ("修订记录", 2, "修订日期"), ("文档信息", "版本号")."""


@dataclass
class Table:
    """Where a table sheet's records were read: each header's column and each record's row. A
    register's cells are named from these when one is asked for, not one by one as they are read."""

    sheet: str
    columns: dict[str, str]  # header → its column letter
    absent: set[str]  # the sheet's headers missing from it: a value of one is named by its row
    rows: list[int] = field(default_factory=list)  # each record's row, by record index

    def ref(self, index: Any, label: Any) -> str | None:
        if not isinstance(index, int) or not 0 <= index < len(self.rows):
            return None
        row = self.rows[index]
        if label in self.columns:
            return f"{self.sheet}!{self.columns[label]}{row}"
        return f"{self.sheet}!{row}:{row}" if label in self.absent else None


@dataclass
class Cells:
    """The cell each value came from, as the reader found it (columns by header, rows by label)."""

    refs: dict[Loc, str] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)  # by sheet title

    def find(self, loc: Loc) -> str | None:
        """The cell (or row, or sheet) a value was read from; None when it was not read."""
        if loc in self.refs:
            return self.refs[loc]
        table = self.tables.get(loc[0]) if len(loc) == 3 else None
        return table.ref(loc[1], loc[2]) if table else None

    def ref(self, sheet_field: str, *path: Any) -> str:
        """The cell of a value named by model field names, e.g. ("revisions", 2, "version") → 修订记录!A4."""
        spec = SHEET_BY_NAME[sheet_field]
        loc = (spec.title, *(spec.label_of(p) for p in path))
        return self.find(loc) or spec.title

    def at(self, sheet_field: str, *path: Any) -> Cell:
        """Where a value is; with no path, the whole sheet."""
        spec = SHEET_BY_NAME[sheet_field]
        return Cell(spec.title, self.ref(sheet_field, *path) if path else None)
