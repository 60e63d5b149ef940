"""Writing user data into openpyxl sheets: every value is the data it is, never a formula."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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
