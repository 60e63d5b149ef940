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


@dataclass(frozen=True)
class Location:
    """Where a finding points: a sheet, and a cell such as ``修订记录!D5`` (None: the whole sheet)."""

    sheet: str | None = None
    cell: str | None = None

    def __str__(self) -> str:
        return self.cell or self.sheet or "工作簿"


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
