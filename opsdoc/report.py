"""Findings (problems as data) and the Report that prints them for people and tools."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "E"
    WARNING = "W"

    @property
    def label(self) -> str:
        return "错误" if self is Severity.ERROR else "警告"


# How a Word document's parts are named to the people reading a verify report.
PART_NAMES = {"body": "正文", "header": "页眉", "footer": "页脚", "properties": "文档属性"}


@dataclass(frozen=True)
class Location:
    """Where a finding points.

    In a workbook: a sheet, and a cell such as ``修订记录!D5`` (None: the whole sheet).
    In a Word document (``opsdoc verify``): the part ("body", "header", "footer" or
    "properties"), then the section, the paragraph (1-based among the part's paragraphs
    outside tables) or the table and row (1-based), and a short excerpt of the text
    concerned; None where it does not apply. A workbook value missing from a document has both.
    """

    sheet: str | None = None
    cell: str | None = None
    part: str | None = None
    section: int | None = None
    paragraph: int | None = None
    table: int | None = None
    row: int | None = None
    excerpt: str | None = None

    def __str__(self) -> str:
        if self.cell or self.sheet or not self.part:
            return self.cell or self.sheet or "工作簿"
        place = PART_NAMES.get(self.part, self.part)
        if self.section is not None:
            place += f" 第{self.section}节"
        if self.table is not None:
            place += f" 表{self.table}" + (f" 第{self.row}行" if self.row is not None else "")
        elif self.paragraph is not None:
            place += f" 第{self.paragraph}段"
        return place + (f"「{self.excerpt}」" if self.excerpt else "")

    def document_place(self) -> dict:
        """The Word-document fields, for JSON; empty for a workbook-only location."""
        if self.part is None:
            return {}
        return {
            "part": self.part,
            "section": self.section,
            "paragraph": self.paragraph,
            "table": self.table,
            "row": self.row,
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    location: Location
    message: str
    related: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "sheet": self.location.sheet,
            "cell": self.location.cell,
            **self.location.document_place(),
            "related": list(self.related),
            "message": self.message,
        }

    def as_line(self) -> str:
        also = f"（另见 {'、'.join(self.related)}）" if self.related else ""
        return f"{self.location}  {self.severity.label} [{self.code}] {self.message}{also}"


@dataclass
class Report:
    """All findings of one workbook; ``sheet_order`` groups them as the workbook is laid out."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    sheet_order: tuple[str, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    def passes(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def sorted(self) -> list[Finding]:
        """Errors first, then by sheet in workbook order; stable within a sheet."""
        order = {name: i for i, name in enumerate(self.sheet_order)}

        def key(f: Finding):
            return (not f.is_error, order.get(f.location.sheet or "", len(order)))

        return sorted(self.findings, key=key)

    def to_text(self) -> str:
        lines = [f.as_line() for f in self.sorted()]
        lines.append(
            f"{self.source}：{len(self.errors)} 个错误，{len(self.warnings)} 个警告"
        )
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "findings": [f.as_dict() for f in self.sorted()],
            },
            ensure_ascii=False,
            indent=2,
        )
