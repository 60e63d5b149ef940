"""What fits the template's page: the cover title's lines and size, the cover's spacing, the running
header's size.

Word and LibreOffice wrap Chinese text between any two characters, so a long project name
splits a word (…医院）信 / 息系统…), runs the running header onto a second line on every page,
and pushes the cover onto a second page. The template takes these values instead, measured
here in points from the characters' widths for its page (A4, 3.17 cm side margins, 2.54 cm top
and bottom) and its cover (CoverTitle 22 pt reaching 0.75 cm into each margin, CoverText 14 pt).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TEXT_WIDTH = 415.6  # points between the side margins
TITLE_WIDTH = TEXT_WIDTH + 2 * 21.25  # the cover title reaches 0.75 cm into each margin
BODY_HEIGHT = 697.9  # points between the top and bottom margins
HEADER_POINTS = (9.0, 6.5)  # the running header's size, and the smallest it shrinks to
TITLE_POINTS = (22, 21, 20, 19, 18, 17, 16)  # 二号 down to 三号
LATIN_EM = 0.55  # the average advance of a Latin letter or digit, in ems (Times New Roman)

# Where a project name may break: after a word that ends a unit of the name, never inside one of
# the words people read as one (信息系统 is one, 信 / 息系统 is not), never inside Latin or digits.
UNIT_ENDS = (
    "项目", "工程", "系统", "平台", "中心", "医院", "院区", "公司", "集团", "大学", "学院", "政府", "银行",
    "市", "省", "区", "县", "镇", "站", "局", "所", "厅", "处", "部", "院", "期",
)  # fmt: skip
WHOLE_WORDS = ("服务项目", "运维服务", "信息系统", "数据中心", "人民医院", "运维项目", "系统运维", "管理系统")
CONJUNCTIONS = "及与和暨、"


def width(text: str) -> float:
    """The advance of `text` in ems: a Chinese (wide) character is one, anything else about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else LATIN_EM for c in text)


def breaks(name: str) -> list[int]:
    """The positions a project name may break at, in its order."""
    allowed = []
    for i in range(1, len(name)):
        before, after = name[:i], name[i:]
        if re.match(r"[A-Za-z0-9]", after) and re.search(r"[A-Za-z0-9]$", before):
            continue
        if any(word in name[max(0, i - 3) : i + 3] and _spans(name, word, i) for word in WHOLE_WORDS):
            continue
        if (
            before[-1] in "）)、，"
            or after[0] in "（(" + CONJUNCTIONS
            or before[-1] in CONJUNCTIONS
            or before.endswith(UNIT_ENDS)
        ):
            allowed.append(i)
    return allowed


def _spans(name: str, word: str, at: int) -> bool:
    """Whether an occurrence of `word` in `name` has `at` strictly inside it."""
    start = name.find(word)
    while start != -1:
        if start < at < start + len(word):
            return True
        start = name.find(word, start + 1)
    return False


@dataclass(frozen=True)
class CoverTitle:
    lines: tuple[str, ...]  # the project name, broken where a reader breaks it
    points: int


def cover_title(name: str) -> CoverTitle:
    """The largest size at which the name takes at most two lines, broken at allowed places only
    (three at the smallest size for a name too long for two); the lines as even as they can be."""
    for points in TITLE_POINTS:
        room = TITLE_WIDTH / points
        for count in (1, 2):
            lines = _balanced(name, count, room)
            if lines is not None:
                return CoverTitle(lines, points)
    room = TITLE_WIDTH / TITLE_POINTS[-1]
    return CoverTitle(_balanced(name, 3, room) or _anywhere(name, room), TITLE_POINTS[-1])


def _balanced(name: str, count: int, room: float) -> tuple[str, ...] | None:
    """`name` in `count` lines that each fit `room` ems, broken at allowed places, the longest line shortest."""
    if count == 1:
        return (name,) if width(name) <= room else None
    best: tuple[float, tuple[str, ...]] | None = None
    for at in breaks(name):
        head, rest = name[:at], name[at:]
        if width(head) > room:
            break
        tail = _balanced(rest, count - 1, room)
        if tail is not None:
            longest = max(width(head), *(width(line) for line in tail))
            if best is None or longest < best[0]:
                best = (longest, (head, *tail))
    return best[1] if best else None


def _anywhere(name: str, room: float) -> tuple[str, ...]:
    """A name with no allowed break that fits: cut where the line is full, still not inside Latin or digits."""
    lines, line = [], ""
    for char in name:
        if line and width(line + char) > room and not re.search(r"[A-Za-z0-9]$", line):
            lines.append(line)
            line = ""
        line += char
    return (*lines, line)


@dataclass(frozen=True)
class CoverSpacing:
    """The cover's three elastic spaces, in twips: before the title, after the version line, before the issuer."""

    before_title: int
    after_version: int
    before_issuer: int


# The cover's fixed parts, in points, as LibreOffice lays them out: the 文件编码 line, the title's
# line height per point of its size, its space after and the kind line, the version line, a row of
# the sign-off and info tables, the gap between them, the issuer line.
_CODE_LINE, _TITLE_LEADING, _AFTER_TITLE, _VERSION_LINE = 26.0, 1.47, 24.0, 26.0
_ROW, _GAP, _ISSUER = 28.8, 26.0, 30.0
_SPACES = (110.0, 72.0, 42.0)  # the template's spaces when all fits (twips / 20)
_SMALLEST = (24.0, 18.0, 12.0)
_SAFETY = 24.0  # what the estimate may be off by


def cover_spacing(title: CoverTitle, customer: str) -> CoverSpacing:
    """The template's spaces, shrunk evenly (down to a floor) as far as a long title and customer need
    for the cover to stay on one page."""
    # The customer's cell: 70 % of the info table, itself 4/5 of the text width, less its margins; 14 pt text.
    customer_lines = -(-width(customer) * 14 // (TEXT_WIDTH * 4 / 5 * 0.7 - 8)) or 1
    fixed = (
        _CODE_LINE
        + (len(title.lines) + 1) * title.points * _TITLE_LEADING
        + _AFTER_TITLE
        + _VERSION_LINE
        + 3 * _ROW
        + _GAP
        + (4 + customer_lines) * _ROW
        + _ISSUER
    )
    room = BODY_HEIGHT - _SAFETY - fixed
    spaces = sum(_SPACES)
    scale = 1.0 if room >= spaces else max(room, sum(_SMALLEST)) / spaces
    before, after, issuer = (max(low, space * scale) for space, low in zip(_SPACES, _SMALLEST, strict=True))
    return CoverSpacing(round(before * 20), round(after * 20), round(issuer * 20))


def header_points(file_code: str, title: str) -> float:
    """The running header's size: 9 pt, or smaller (to 6.5 pt) so that code, a gap and title take one line."""
    needed = width(file_code) + 2 + width(title)
    largest, smallest = HEADER_POINTS
    return max(smallest, min(largest, int(TEXT_WIDTH / needed * 2) / 2))


def header_title(file_code: str, title: str, kind: str) -> str:
    """The title as the header prints it: whole, or, when even the smallest size cannot hold it, the
    project name shortened with … before `kind` (运维工作管理规范), which always stays."""
    room = TEXT_WIDTH / HEADER_POINTS[1] - width(file_code) - 2
    if width(title) <= room:
        return title
    name = title.removesuffix(kind)
    while name and width(name + "…" + kind) > room:
        name = name[:-1]
    return name + "…" + kind
