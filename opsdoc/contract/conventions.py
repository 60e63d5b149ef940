"""Company conventions that differ between companies, read from an optional opsdoc.toml."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from re import _constants, _parser  # type: ignore[attr-defined]  # the stdlib parser the re module itself uses
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opsdoc.errors import OpsdocError

CONFIG_NAME = "opsdoc.toml"


class UnusableConfig(OpsdocError):
    """Raised when opsdoc.toml cannot be read or holds a value of the wrong kind."""


class RiskLevels(BaseModel):
    """The lowest 可能性×影响 score of each level of the 5×5 matrix; below 一般 is 低."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    moderate: int = Field(4, alias="一般", ge=2, le=25)
    major: int = Field(9, alias="较大", ge=2, le=25)
    severe: int = Field(20, alias="重大", ge=2, le=25)

    @model_validator(mode="after")
    def _increasing(self) -> RiskLevels:
        if not self.moderate < self.major < self.severe:
            raise ValueError("风险等级阈值应满足 一般 < 较大 < 重大")
        return self

    def level(self, score: int) -> str:
        if score >= self.severe:
            return "重大"
        if score >= self.major:
            return "较大"
        return "一般" if score >= self.moderate else "低"


class SynonymsConfig(BaseModel):
    """A company's own words for the template's headers and chapter titles (opsdoc import)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers: dict[str, list[str]] = Field(default_factory=dict)
    chapters: dict[str, list[str]] = Field(default_factory=dict)


class Conventions(BaseModel):
    """Defaults follow the company template and rules.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_code_pattern: str | None = None  # None: any 文件编码 is accepted
    change_request_pattern: str = r"(WJGG|CR)-\d{4}-\d{3,}"
    catalog_review_months: int = Field(12, ge=1, le=120)
    plan_adjust_months: int = Field(6, ge=1, le=120)
    risk_levels: RiskLevels = RiskLevels()
    archive: Path | None = None  # opsdoc issue's archive folder; relative to opsdoc.toml's folder
    # The register on a server database (PostgreSQL); read from the opsdoc.toml beside the archive folder.
    # None: the SQLite file in the archive folder.
    register_url: str | None = None
    review_months: int = Field(12, ge=1, le=120)  # 定期评审: how long a version in force goes unreviewed
    retention_years: int = Field(3, ge=1, le=100)  # 保存期限 of a 作废 or 撤销 version, from that day
    dispose_files: Literal["keep", "remove"] = "keep"  # what register dispose does with the files
    company: str | None = None  # the printed 受控文件清单's title; None: the newest version's 编制单位
    synonyms: SynonymsConfig = SynonymsConfig()  # added to opsdoc/contract/synonyms.toml for import

    @field_validator("file_code_pattern", "change_request_pattern")
    @classmethod
    def _is_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                parsed = _parser.parse(pattern)
            except re.error as exc:
                raise ValueError(f"不是有效的正则表达式：{exc}") from None
            if _backtracks(list(parsed), repeated=False):
                raise ValueError("含有嵌套的重复（如 (a+)+、(a|aa)*）：匹配可能耗时极长，请改写为不嵌套的形式")
        return pattern


MATCHED_CHARS = 200
"""The longest text a company pattern is matched against; a 文件编码 or 单号 is far shorter."""

_REPEATS = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT}


def _backtracks(items: list[Any], *, repeated: bool) -> bool:
    """Whether a pattern can backtrack catastrophically: a repetition inside a repetition, or a
    choice between overlapping branches inside one (the shapes behind exponential matching).

    Conservative: some harmless patterns are refused too; a company rewrites them simply.
    """
    for op, argument in items:
        if op in _REPEATS:
            low, high, body = argument
            repeats = high > 1 and low != high  # a fixed count such as {3} cannot backtrack
            if repeats and repeated:
                return True
            if _backtracks(list(body), repeated=repeated or repeats):
                return True
        elif op is _constants.SUBPATTERN:
            if _backtracks(list(argument[-1]), repeated=repeated):
                return True
        elif op is _constants.BRANCH:
            branches = [list(b) for b in argument[1]]
            if repeated and not _disjoint_starts(branches):
                return True
            if any(_backtracks(b, repeated=repeated) for b in branches):
                return True
    return False


def _disjoint_starts(branches: list[list[Any]]) -> bool:
    """Every branch starts with a literal, and no two with the same one."""
    firsts = [b[0][1] if b and b[0][0] is _constants.LITERAL else None for b in branches]
    return None not in firsts and len(set(firsts)) == len(firsts)


def load_conventions(workbook: Path, config: Path | None = None) -> Conventions:
    """The conventions in `config`, else in opsdoc.toml beside the workbook, else the defaults."""
    path = config or workbook.parent / CONFIG_NAME
    if config is None and not path.is_file():
        return Conventions()
    if path.exists() and not path.is_file():  # reading a FIFO would block forever
        raise UnusableConfig(path, "不是普通文件（文件夹、设备或管道），请给出 .toml 配置文件")
    import tomllib  # only with an opsdoc.toml

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnusableConfig(path, "配置文件不存在") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UnusableConfig(path, f"配置文件无法读取：{exc}") from None
    try:
        return Conventions.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(map(str, e['loc'])) or '（整体）'}：{e['msg']}" for e in exc.errors())
        raise UnusableConfig(path, f"配置有误：{problems}") from None


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier, when negative), or that month's last day if it has no such day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    for last_day in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, last_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
