"""People's spellings of a value, read back into the contract's values.

A column's own render spec (`shown.read`) comes first: what opsdoc printed reads back exactly.
Then the spellings people type by hand, mapped only where the meaning is unambiguous: a
wrong value in the workbook is worse than an empty cell with a finding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from opsdoc.contract.model import ColumnSpec, date_of
from opsdoc.contract.vocabulary import PLACEHOLDER, RISK_LEVELS


@dataclass(frozen=True)
class Read:
    """What a cell's text became: a value for the workbook, and a problem when there is one.

    `code` None: imported as meant. "import-bad-value": kept as typed, so that `check` flags
    it in its cell. "import-ambiguous-value" and "import-placeholder": the cell stays empty.
    """

    value: Any
    code: str | None = None
    message: str = ""


EMPTY = Read(None)

# 2026.3.1, 2026-3-1, 2026/3/1, 2026年3月1日, 20260301: one separator throughout.
_DATE = re.compile(
    r"(?P<y>\d{4})(?:(?P<m1>\d{2})(?P<d1>\d{2})"
    r"|\s*(?P<sep>[-/.])\s*(?P<m2>\d{1,2})\s*(?P=sep)\s*(?P<d2>\d{1,2})"
    r"|\s*年\s*(?P<m3>\d{1,2})\s*月\s*(?P<d3>\d{1,2})\s*日?)"
)
# Separators of a period written in one cell: 2024.9.1—2025.8.31, 自…起至…止, 2024-09-01 ~ 2025-08-31.
_PERIOD = re.compile(r"^(?:自|从)?\s*(?P<start>.+?)\s*(?:起\s*)?(?:至|到|—+|－+|–|~|～|--)\s*(?P<end>.+?)\s*止?$")
# A unit in a header: 响应时间(分钟), 金额(元), 权重(%).
_HEADER_UNIT = re.compile(r"\(([^)]*)\)\s*$")
_NUMBER = re.compile(r"^(?P<number>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s]*)$")
# How many of the column's unit one of the typed unit is; absent pairs are not converted.
_UNIT_FACTORS = {
    ("分钟", "分钟"): 1.0,
    ("分", "分钟"): 1.0,
    ("min", "分钟"): 1.0,
    ("小时", "分钟"): 60.0,
    ("h", "分钟"): 60.0,
    ("小时", "小时"): 1.0,
    ("h", "小时"): 1.0,
    ("分钟", "小时"): 1 / 60,
    ("元", "元"): 1.0,
    ("万元", "元"): 10000.0,
    ("万", "元"): 10000.0,
    ("%", "%"): 1.0,
}
_YES, _NO = {"是", "√", "✓", "✔", "Y", "y", "有"}, {"否", "×", "✗", "✘", "X", "x", "N", "n", "无"}
# Priorities written in words: 一级 is P1 in every O&M contract that uses both (domain-notes).
_PRIORITY_WORDS = {
    f"{word}{unit}": f"P{n}" for n, word in enumerate("一二三四", start=1) for unit in ("级", "级故障", "级事件")
}
_PRIORITY_WORDS |= {f"{n}级": f"P{n}" for n in range(1, 5)} | {f"P{n}级": f"P{n}" for n in range(1, 5)}
# Levels of another scale: which of 低/一般/较大/重大 the author meant is not ours to guess.
_OTHER_RISK_SCALE = {"高", "中", "低", "极高", "很高", "较高", "较低", "极低", "严重", "一般风险", "中等"}


def read_date(text: str) -> date | None:
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    try:
        return date_of(match)
    except ValueError:
        return None


def split_period(text: str) -> tuple[str, str] | None:
    """A period written in one cell or sentence as its start and end texts."""
    match = _PERIOD.match(text.strip())
    if not match or read_date(match["start"]) is None or read_date(match["end"]) is None:
        return None
    return match["start"], match["end"]


def column_unit(column: ColumnSpec) -> str | None:
    match = _HEADER_UNIT.search(unicodedata.normalize("NFKC", column.label))
    return match.group(1) if match else None


def read_value(column: ColumnSpec, text: str) -> Read:
    """The value a cell's or sentence's `text` stands for in `column`."""
    text = text.replace("\r", "").strip()
    if not text:
        return EMPTY
    guidance = PLACEHOLDER.search(text)
    if guidance:
        return Read(None, "import-placeholder", f"「{guidance.group()}」是模板的填写说明或占位内容，不是本项目的值")
    if column.kind == "paragraphs":
        return Read("\n".join(line.strip() for line in text.split("\n") if line.strip()))
    if column.kind == "date":
        day = read_date(text)
        if day is None:
            return Read(text, "import-bad-value", f"「{text}」不是日期，已按原文写入，请改为具体日期")
        return Read(day)
    if column.shown.name == "whole":  # before "number": scores and chapter numbers are integers
        return _whole(text)
    if column.kind == "number":
        return _number(column, text)
    if column.choices:
        return _choice(column, text)
    return Read(text)


def _number(column: ColumnSpec, text: str) -> Read:
    plain = unicodedata.normalize("NFKC", text).replace(",", "").replace("，", "").strip()
    match = _NUMBER.fullmatch(plain)
    if not match:
        return Read(text, "import-bad-value", f"「{text}」不是数字，已按原文写入，请改为数值")
    number, unit = float(match["number"]), match["unit"]
    wanted = column_unit(column)
    if unit:
        factor = _UNIT_FACTORS.get((unit, wanted or ""))
        if factor is None:
            return Read(
                None,
                "import-ambiguous-value",
                f"「{text}」的单位「{unit}」不是本列的单位「{wanted or '无'}」，无法确定换算，单元格留空",
            )
        number *= factor
    return Read(int(number) if number.is_integer() else round(number, 6))


def _whole(text: str) -> Read:
    plain = unicodedata.normalize("NFKC", text).strip().removesuffix("分")
    if plain.isdigit():
        return Read(int(plain))
    return Read(text, "import-bad-value", f"「{text}」不是整数，已按原文写入")


def _choice(column: ColumnSpec, text: str) -> Read:
    if text in column.choices:
        return Read(text)
    if set(column.choices) == {"是", "否"}:
        if text in _YES:
            return Read("是")
        if text in _NO:
            return Read("否")
    plain = unicodedata.normalize("NFKC", text).strip().upper()
    if plain in column.choices:
        return Read(plain)  # ｐ１, p1
    if _PRIORITY_WORDS.get(plain) in column.choices:
        return Read(_PRIORITY_WORDS[plain])
    if column.choices == RISK_LEVELS and text in _OTHER_RISK_SCALE:
        return Read(
            None,
            "import-ambiguous-value",
            f"「{text}」是另一种风险等级划分，无法对应到 {'/'.join(RISK_LEVELS)}，单元格留空（不填则按 可能性×影响 计算）",
        )
    return Read(text, "import-bad-value", f"「{text}」不是可选值（{'/'.join(column.choices)}），已按原文写入")
