"""Text cut where a reader sees one thing: a date, a version, a code, a number with its unit.

The 对比稿 and the 修订说明 compare these whole: 2026年9月7日 → 2026年12月4日 is one deletion and
one insertion, not 9̶12月7̶4日; 在编人员12人 → 14人 says 将“12人”修改为“14人”, not 将“员12人，”….
Everything else (Chinese text, punctuation) is one token per character, as before.
"""

from __future__ import annotations

import re

TOKEN = re.compile(
    r"""
    \d{4}年\d{1,2}月(?:\d{1,2}日)?                      # 2026年9月7日, 2026年9月
    | \d{1,2}月\d{1,2}日                                 # 9月7日
    | \d{4}[-./]\d{1,2}[-./]\d{1,2}                      # 2026-09-07, 2026.9.7, 2026/9/7
    | [A-Za-z][A-Za-z0-9]*(?:[-_./][A-Za-z0-9]+)*        # V2.1, SC-05, QT-YW-GF-BH01-001, HIS
    | \d+(?:[.,:：\-]\d+)*                               # 12, 99.9, 0571-88886666, 7:30
      (?:%|‰|分钟|小时|个月|工作日|万元|[个人台套次项天日周月年元倍份家条名])?  # …and its unit
    """,
    re.X,
)


def tokens(text: str) -> list[str]:
    """`text` cut into tokens; they join back to `text`."""
    out: list[str] = []
    at = 0
    for match in TOKEN.finditer(text):
        out += list(text[at : match.start()])
        out.append(match.group())
        at = match.end()
    out += list(text[at:])
    return out


def widened(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) of `text` grown to whole tokens: an edit inside a date or a number takes all of it."""
    for match in TOKEN.finditer(text):
        if (match.start() < end and start < match.end()) or match.start() < start == end < match.end():
            start, end = min(start, match.start()), max(end, match.end())
    return start, end
