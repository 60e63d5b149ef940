"""The words of the company template that every stage shares: chapters, styles, roles, versions.

Written once here so the workbook rules, the Word template, verify, diff and the import all
mean the same thing by them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal, get_args

DOCUMENT_KIND = "运维工作管理规范"
REDLINE_SUFFIX = "_对比稿"  # {document}_对比稿.docx, as build --redline and issue file it
NOTES_SUFFIX = "_修订说明"  # {document}_修订说明.txt, filed by issue beside the 对比稿
"""The document opsdoc produces; the cover title is the 项目名称 followed by this."""

CHAPTERS: tuple[str, ...] = (
    "项目背景",
    "组织职责",
    "目标和范围",
    "服务目录和服务级别协议",
    "工作计划",
    "项目管理",
    "资源和工具",
    "工作规范",
    "绩效考核",
    "服务合同",
)
"""The company template's ten chapters (seeds/000_…), in order."""

CHAPTER_STYLE = "Heading 1"
SECTION_STYLE = "Heading 2"

COVER = "封面"
HISTORY = "文件版本历史"
CONTENTS = "目录"
REVISION_HEADER = "文件版本"  # first header cell of the 文件版本历史 table

Role = Literal["服务项目经理", "服务项目工程师", "其他"]
MANAGER, ENGINEER = "服务项目经理", "服务项目工程师"

RiskLevel = Literal["低", "一般", "较大", "重大"]
RISK_LEVELS: tuple[str, ...] = get_args(RiskLevel)
HIGH_RISK_LEVELS = frozenset({"较大", "重大"})
"""Levels the seed calls 高级别: they need more than one 应对措施."""

PLACEHOLDER = re.compile(
    r"(?=[XVvYy【】编审批〔])"  # the characters one starts with, tested first: half the time over a register
    r"(?:X{2,}|(?i:vx\.y|yyyy[-/.年]?mm[-/.月]?dd日?)|【[^】]*】?|】|编制人姓名|审核人姓名|批准人姓名|〔待填写〕)"
)
"""Leftovers of the company template and its guidance text, and a draft's own stand-in."""

PENDING = "〔待填写〕"
"""What a draft shows where the workbook has no usable value yet (matched by PLACEHOLDER)."""


class Severity(StrEnum):
    ERROR = "E"
    WARNING = "W"

    @property
    def label(self) -> str:
        return "错误" if self is Severity.ERROR else "警告"


class Stage(StrEnum):
    """Which command's step produces a finding code."""

    READ = "read"  # reading and validating the workbook (check, build)
    RULES = "rules"  # consistency rules (check, build)
    VERIFY = "verify"  # a document against its template and workbook (verify)
    TEMPLATE = "template"  # a company Word template (template check)
    REGISTER = "register"  # the archive against its register of issued versions (register verify)
    IMPORT = "import"  # a legacy document read back into a workbook (import)
    ISSUE = "issue"  # what only the day of issue can decide (issue)

    @property
    def label(self) -> str:
        return {
            "read": "读取工作簿",
            "rules": "一致性规则",
            "verify": "文档核对",
            "template": "模板检查",
            "register": "归档核对",
            "import": "导入",
            "issue": "发布",
        }[self.value]


class Change(StrEnum):
    """How one version of a paragraph, row or chapter differs from the other."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


# ---------------------------------------------------------------- versions

_VERSION = re.compile(r"V([0-9]+)\.([0-9]+)")


def parse_version(text: str) -> tuple[int, int] | None:
    """`V主版本.次版本` as (major, minor); None for anything else (`1.2`, `V1.2.3`, `v1.2`).

    The one version syntax of the company template, used by the rules, verify and diff.
    """
    match = _VERSION.fullmatch(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


# A released version's status on a day (opsdoc.control.register.lifecycle).
PENDING_EFFECT, CURRENT, SUPERSEDED, WITHDRAWN = "待生效", "现行", "作废", "撤销"
