"""What a 文控 asks for and is reminded of, as plain values: the CLI and the web page build them without
opening the register (and so without loading its database library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True)
class Handout:
    """Who receives a copy, and what kind."""

    holder: str  # 接收人
    department: str = ""
    count: int = 1  # 份数 of this copy the holder receives
    controlled: bool = True
    on: date | None = None  # the day it is handed out; None: today
    by: str | None = None  # the 文控; None: the operating-system user


class Duty(StrEnum):
    """What a 到期事项 asks of the 文控."""

    REVIEW = "review"
    RECALL = "recall"
    DISPOSAL = "disposal"

    @property
    def label(self) -> str:
        return {"review": "定期评审", "recall": "回收副本", "disposal": "保存期满"}[self.value]
