"""How a workbook value is printed in the document, and how the printed text reads back.

Each column of the contract names one of these (by its type, or explicitly, e.g. 金额 as
MONEY). The template context, verify's expected values, a draft's stand-ins and the legacy
import all go through `show` and `read`, so a value is printed one way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any


class Displayed(float):
    """A number with the text Excel shows for it (its number format applied: 1,234.50).

    Numeric columns take the number; text columns take `shown`, what the manager saw.
    """

    shown: str

    def __new__(cls, number: float, shown: str) -> Displayed:
        value = super().__new__(cls, number)
        value.shown = shown
        return value


@dataclass(frozen=True)
class Shown:
    """A way of printing a value: `show` for the document, `read` for the text back to the value."""

    name: str

    def show(self, value: Any) -> str | list[str]:
        """The text of `value` in the document; "" (or []) for an empty optional value."""
        if value is None:
            return [] if self is PARAGRAPHS else ""
        if self is PARAGRAPHS:
            return list(value)
        if self is DAY:
            return f"{value:%Y%m%d}"
        if self is PROSE_DAY:
            return f"{value.year}年{value.month}月{value.day}日"
        if self is NUMBER:
            return str(int(value)) if float(value).is_integer() else f"{value:g}"
        if self is MONEY:
            return f"{value:,.2f}"
        return str(value)

    def read(self, text: str) -> Any:
        """The value that `show` printed as `text`; raises ValueError when it is not such a text."""
        text = text.strip()
        if self is PARAGRAPHS:
            return [line.strip() for line in text.split("\n") if line.strip()]
        if self is DAY:
            if not re.fullmatch(r"\d{8}", text):
                raise ValueError(f"not YYYYMMDD: {text!r}")
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if self is PROSE_DAY:
            match = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
            if not match:
                raise ValueError(f"not YYYY年M月D日: {text!r}")
            return date(*map(int, match.groups()))
        if self in (NUMBER, MONEY):
            return float(text.replace(",", ""))
        if self is WHOLE:
            return int(text)
        return text


TEXT = Shown("text")
PARAGRAPHS = Shown("paragraphs")  # one paragraph per line of the cell
DAY = Shown("day")  # 20260301: the seed's YYYYMMDD
# 2026年3月1日: every date outside the version history reads as Chinese prose writes it
# (GB/T 15835); the seed's YYYYMMDD stays only in the 文件版本历史's "YYYYMMDD/姓名" cells.
PROSE_DAY = Shown("prose_day")
NUMBER = Shown("number")  # 15, 0.5: no trailing .0
MONEY = Shown("money")  # 12,000.00
WHOLE = Shown("whole")  # 1–5 scores, chapter numbers
