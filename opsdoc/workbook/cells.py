"""Where each value of the model was read: the map from model paths to workbook cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsdoc.contract.findings import Cell
from opsdoc.contract.model import SHEET_BY_NAME

Loc = tuple[Any, ...]
"""A value by sheet title, record index and header: ("修订记录", 2, "修订日期"), ("文档信息", "版本号")."""


@dataclass
class Cells:
    """The cell each value came from, as the reader found it (columns by header, rows by label)."""

    refs: dict[Loc, str] = field(default_factory=dict)

    def ref(self, sheet_field: str, *path: Any) -> str:
        """The cell of a value named by model field names, e.g. ("revisions", 2, "version") → 修订记录!A4."""
        spec = SHEET_BY_NAME[sheet_field]
        loc = (spec.title, *(spec.label_of(p) for p in path))
        return self.refs.get(loc, spec.title)

    def at(self, sheet_field: str, *path: Any) -> Cell:
        """Where a value is; with no path, the whole sheet."""
        spec = SHEET_BY_NAME[sheet_field]
        return Cell(spec.title, self.ref(sheet_field, *path) if path else None)
