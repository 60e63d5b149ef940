"""Writing user data into openpyxl sheets: every value is the data it is, never a formula, never refused."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
