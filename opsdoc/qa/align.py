"""Align two sequences in time close to linear in their length.

difflib's SequenceMatcher (autojunk off) is quadratic on long or repetitive sequences: fine for
a chapter, minutes for 100,000 paragraphs or a 25,000-row register. Small inputs still go to
SequenceMatcher unchanged, so findings on ordinary documents stay what they were; long ones are
first cut at their common start and end and at the items that occur once on each side and in
the same order (patience diff), and only the short stretches between go to SequenceMatcher.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from difflib import SequenceMatcher

Opcode = tuple[str, int, int, int, int]  # as SequenceMatcher.get_opcodes: (tag, i1, i2, j1, j2)
SMALL = 2000 * 2000  # len(a) * len(b) up to which SequenceMatcher is quick enough
DEPTH = 8  # cuts within cuts; deeper, a stretch without common items is one replacement


def opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    if len(a) * len(b) <= SMALL:
        return [tuple(op) for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()]  # type: ignore[misc]
    ops: list[Opcode] = []
    _align(a, b, 0, len(a), 0, len(b), ops, 0)
    return _merged(ops)


def _align(
    a: Sequence[Hashable], b: Sequence[Hashable], i1: int, i2: int, j1: int, j2: int, ops: list[Opcode], depth: int
) -> None:
    start_i, start_j = i1, j1
    while i1 < i2 and j1 < j2 and a[i1] == b[j1]:
        i1, j1 = i1 + 1, j1 + 1
    if i1 > start_i:
        ops.append(("equal", start_i, i1, start_j, j1))
    end_i, end_j = i2, j2
    while i2 > i1 and j2 > j1 and a[i2 - 1] == b[j2 - 1]:
        i2, j2 = i2 - 1, j2 - 1
    _middle(a, b, i1, i2, j1, j2, ops, depth)
    if i2 < end_i:
        ops.append(("equal", i2, end_i, j2, end_j))


def _middle(
    a: Sequence[Hashable], b: Sequence[Hashable], i1: int, i2: int, j1: int, j2: int, ops: list[Opcode], depth: int
) -> None:
    if i1 == i2 and j1 == j2:
        return
    if i1 == i2 or j1 == j2:
        ops.append(("insert" if i1 == i2 else "delete", i1, i2, j1, j2))
        return
    if (i2 - i1) * (j2 - j1) <= SMALL:
        matcher = SequenceMatcher(None, a[i1:i2], b[j1:j2], autojunk=False)
        ops += [(tag, i1 + x1, i1 + x2, j1 + y1, j1 + y2) for tag, x1, x2, y1, y2 in matcher.get_opcodes()]
        return
    anchors = _unique_common(a, b, i1, i2, j1, j2) if depth < DEPTH else []
    if not anchors:
        ops.append(("replace", i1, i2, j1, j2))
        return
    for i, j in anchors:
        _align(a, b, i1, i, j1, j, ops, depth + 1)
        ops.append(("equal", i, i + 1, j, j + 1))
        i1, j1 = i + 1, j + 1
    _align(a, b, i1, i2, j1, j2, ops, depth + 1)


def _unique_common(
    a: Sequence[Hashable], b: Sequence[Hashable], i1: int, i2: int, j1: int, j2: int
) -> list[tuple[int, int]]:
    """Items found once in a[i1:i2] and once in b[j1:j2], the longest run of them in the same order."""
    once_a: dict[Hashable, int | None] = {}
    for i in range(i1, i2):
        once_a[a[i]] = None if a[i] in once_a else i
    once_b: dict[Hashable, int | None] = {}
    for j in range(j1, j2):
        once_b[b[j]] = None if b[j] in once_b else j
    pairs: list[tuple[int, int]] = []
    for item, at_a in once_a.items():
        at_b = once_b.get(item)
        if at_a is not None and at_b is not None:
            pairs.append((at_a, at_b))
    pairs.sort()
    # Longest increasing run of the b positions (patience sorting), O(n log n).
    tail_js: list[int] = []  # tail_js[k]: the smallest b position ending a run of length k + 1
    tails: list[int] = []  # ... and its index in pairs
    back: list[int] = []
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tail_js, j)
        back.append(tails[k - 1] if k else -1)
        if k == len(tails):
            tail_js.append(j)
            tails.append(index)
        else:
            tail_js[k], tails[k] = j, index
    run: list[tuple[int, int]] = []
    at = tails[-1] if tails else -1
    while at >= 0:
        run.append(pairs[at])
        at = back[at]
    return run[::-1]


def _merged(ops: list[Opcode]) -> list[Opcode]:
    """Adjacent operations of one kind as one, and a deletion next to an insertion as a replacement."""
    merged: list[Opcode] = []
    for tag, i1, i2, j1, j2 in ops:
        if merged and (merged[-1][0] == "equal") == (tag == "equal"):
            last, li1, _, lj1, _ = merged[-1]
            if tag != "equal" and last != tag:
                tag = "replace"
            merged[-1] = (tag, li1, i2, lj1, j2)
        else:
            merged.append((tag, i1, i2, j1, j2))
    return merged
