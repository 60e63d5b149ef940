"""The rule registry: every finding code with its severity and title, and the consistency checks.

Codes are stable (reports, --skip and QA scripts use them). Reading codes are produced by the
loader; every other rule is a small function that yields Findings for a valid Document.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from opsdoc.report import Finding, Location, Severity

if TYPE_CHECKING:
    from opsdoc.workbook import Workbook

Check = Callable[["Workbook"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str
    source: str = ""
    check: Check | None = None  # None: reported by the loader while reading


RULES: dict[str, Rule] = {}


def _register(code: str, severity: str, title: str, source: str = "", check: Check | None = None) -> None:
    RULES[code] = Rule(code, Severity(severity), title, source, check)


def rule(code: str, severity: str, title: str, source: str = ""):
    """Register a consistency check under its stable code."""

    def register(check: Check) -> Check:
        _register(code, severity, title, source, check)
        return check

    return register


def finding(code: str, location: Location, message: str, related: Iterable[str] = ()) -> Finding:
    return Finding(code, RULES[code].severity, location, message, tuple(related))


for _code, _severity, _title in [
    ("missing-sheet", "E", "缺少必需的工作表"),
    ("missing-column", "E", "表格工作表缺少必填列"),
    ("missing-label", "E", "键值工作表缺少必填项目"),
    ("missing-value", "E", "必填单元格为空"),
    ("bad-date", "E", "不是日期（含不存在的日期和纯数字）"),
    ("bad-number", "E", "需要数字的单元格不是数字"),
    ("bad-choice", "E", "下拉列的值不在可选列表中"),
    ("bad-value", "E", "值的类型无法识别"),
    ("formula-no-value", "E", "公式没有缓存的计算结果"),
    ("error-cell", "E", "单元格是 Excel 错误值"),
    ("illegal-character", "E", "含有 Word 无法保存的控制字符"),
    ("placeholder-text", "E", "保留了模板占位内容"),
    ("unknown-column", "W", "表头不是本表的列，内容不会写入文档"),
    ("unknown-label", "W", "项目不是本表的项目，内容不会写入文档"),
]:
    _register(_code, _severity, _title)


def _duplicates(workbook: Workbook, sheet_field: str, key: str, what: str) -> Iterator[Finding]:
    rows = getattr(workbook.document, sheet_field)
    seen: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(rows):
        seen[getattr(record, key)].append(index)
    for value, indexes in seen.items():
        for repeat in indexes[1:]:
            first = workbook.cell(sheet_field, indexes[0], key)
            yield finding(
                "duplicate-key",
                workbook.location(sheet_field, repeat, key),
                f"{what}「{value}」重复，已在 {first} 使用",
                related=[first],
            )


@rule("duplicate-key", "E", "风险编号、服务目录编号、SLA级别、文件版本不得重复")
def duplicate_keys(workbook: Workbook) -> Iterator[Finding]:
    yield from _duplicates(workbook, "revisions", "version", "文件版本")
    yield from _duplicates(workbook, "catalog", "code", "服务目录编号")
    yield from _duplicates(workbook, "service_levels", "level", "SLA级别")
    yield from _duplicates(workbook, "risks", "code", "风险编号")


def run_rules(workbook: Workbook, skip: Iterable[str] = ()) -> list[Finding]:
    """All findings of the consistency rules; none while the model could not be built."""
    if workbook.document is None:
        return []
    skipped = set(skip)
    return [f for r in RULES.values() if r.check and r.code not in skipped for f in r.check(workbook)]
