"""The pipeline, stage by stage: read → validate → rules → render → output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from opsdoc.conventions import Conventions, load_conventions
from opsdoc.model import SHEETS, DocumentInfo
from opsdoc.output import ensure_folder, publish, safe_file_name
from opsdoc.report import Report
from opsdoc.rules import run_rules
from opsdoc.workbook import Workbook, read_workbook

DRAFT_SUFFIX = "_草稿"


@dataclass
class Checked:
    workbook: Workbook
    conventions: Conventions
    report: Report


def check(path: Path, *, config: Path | None = None, skip: Iterable[str] = ()) -> Checked:
    """Read the workbook and run every rule; all findings come back at once."""
    skipped = set(skip)
    conventions = load_conventions(path, config)
    workbook = read_workbook(path)
    findings = [f for f in workbook.findings if f.code not in skipped]
    findings += run_rules(workbook, conventions, skip=skipped)
    return Checked(workbook, conventions, Report(str(path), findings, tuple(s.title for s in SHEETS)))


def output_name(info: DocumentInfo, *, draft: bool = False) -> str:
    """{文件编码}_{项目名称}运维工作管理规范_{版本号}.docx; a draft never takes an issued name."""
    stem = f"{info.file_code}_{info.project_name}运维工作管理规范_{info.version}"
    return safe_file_name(stem + (DRAFT_SUFFIX if draft else "")) + ".docx"


@dataclass
class BuildResult:
    report: Report
    output: Path | None = None  # None: refused because of findings
    status: str = "refused"  # "written", "unchanged", "overwritten" or "refused"


def build(
    path: Path,
    out_dir: Path,
    *,
    template: Path | None = None,
    config: Path | None = None,
    force: bool = False,
    draft: bool = False,
    strict: bool = False,
    skip: Iterable[str] = (),
) -> BuildResult:
    """Check, then render and publish; nothing is written while errors remain (unless draft)."""
    checked = check(path, config=config, skip=skip)
    document, report = checked.workbook.document, checked.report
    if document is None or (not draft and not report.passes(strict)):
        return BuildResult(report)
    from opsdoc.render import render_document  # docxtpl is only imported by commands that render

    data = render_document(document, template, checked.conventions, draft=draft)
    ensure_folder(out_dir)
    output = out_dir / output_name(document.info, draft=draft)
    return BuildResult(report, output, publish(output, data, force=force))
