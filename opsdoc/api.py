"""opsdoc's public face: every command of the CLI, and any other program, calls these and nothing else.

Options are frozen dataclasses; every result names each file it wrote with its kind and
status (`Written`); "cannot continue" is an `OpsdocError` carrying its exit code, and
everything a manager can fix is a `Finding` in a `Report`. For example::

    from pathlib import Path
    from opsdoc import api

    checked = api.check(Path("我的项目.xlsx"))
    print(checked.report.to_text())
    result = api.build(Path("我的项目.xlsx"), Path("发布"), api.BuildOptions(pdf=True))
    for file in result.files:
        print(file.kind.label, file.path, file.status.label)
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from opsdoc import pipeline
from opsdoc.contract.findings import CATALOGUE, Code, Finding, Report, codes_of
from opsdoc.contract.model import CONTRACT_VERSION
from opsdoc.contract.vocabulary import CURRENT, PENDING_EFFECT, SUPERSEDED, WITHDRAWN, Stage
from opsdoc.errors import OpsdocError
from opsdoc.generate.context import TEMPLATE_VERSION
from opsdoc.office.output import FileKind, Outputs, Published, Written
from opsdoc.pipeline import (
    BatchItem,
    BuildOptions,
    BuildResult,
    Checked,
    CheckOptions,
    Compared,
    CompareOptions,
    IssueOptions,
    IssueResult,
    RedlineOptions,
    RedlineResult,
    workbooks_in,
)

if TYPE_CHECKING:  # the release and import paths load only when a command asks for them
    from opsdoc.control.register import Entry
    from opsdoc.importer import ImportResult

__all__ = [
    "CURRENT",
    "PENDING_EFFECT",
    "SUPERSEDED",
    "WITHDRAWN",
    "BatchItem",
    "BuildOptions",
    "BuildResult",
    "CheckOptions",
    "Checked",
    "Code",
    "CompareOptions",
    "Compared",
    "FileKind",
    "Finding",
    "IssueOptions",
    "IssueResult",
    "OpsdocError",
    "Progress",
    "Published",
    "RedlineOptions",
    "RedlineResult",
    "Report",
    "Stage",
    "Versions",
    "Written",
    "annotate",
    "build",
    "build_batch",
    "check",
    "check_template",
    "compare",
    "export_register",
    "finding_codes",
    "import_document",
    "issue",
    "new_workbook",
    "redline",
    "register_entries",
    "sync_register",
    "unskippable",
    "verify",
    "verify_archive",
    "versions",
    "withdraw",
    "workbooks_in",
]

Progress = Callable[[str], None]  # told what a long step (LibreOffice) is doing


# ---------------------------------------------------------------- the manager's workbook


def new_workbook(output: Path, *, force: bool = False) -> Written:
    """The blank workbook: every sheet, hints and dropdowns."""
    from opsdoc.workbook.blank import new_workbook as blank

    outputs = Outputs(force=force)
    outputs.add(FileKind.WORKBOOK, output, blank())
    (written,) = outputs.write()
    return written


def check(workbook: Path, options: CheckOptions = CheckOptions()) -> Checked:
    """Read the workbook and run every rule: its findings, and what a build would go on from."""
    return pipeline.check(workbook, options)


def annotate(checked: Checked, output: Path, *, force: bool = False) -> Written:
    """A copy of the checked workbook with each finding on its cell and a first sheet 检查结果."""
    return pipeline.write_annotated(checked, output, force=force)


# ---------------------------------------------------------------- the document


def build(
    workbook: Path,
    output_dir: Path,
    options: BuildOptions = BuildOptions(),
    *,
    annotate: Path | None = None,
    redline: Path | None = None,
    dump_context: Path | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Check the workbook, then write its document (and PDF, 对比稿, annotated copy, context as asked)."""
    return pipeline.build(
        workbook, output_dir, options, annotate=annotate, redline=redline, dump_context=dump_context, progress=progress
    )


def build_batch(
    workbooks: Sequence[Path], output_dir: Path, options: BuildOptions = BuildOptions(), *, jobs: int = 1
) -> Iterator[BatchItem]:
    """Build each workbook (a folder gives its spreadsheets) in `jobs` processes; each outcome as it completes."""
    return pipeline.build_many(workbooks_in(workbooks), output_dir, options, jobs=jobs)


# ---------------------------------------------------------------- QA and versions


def verify(
    document: Path,
    *,
    template: Path | None = None,
    workbook: Path | None = None,
    skip: Iterable[str] = (),
    pdf: Path | None = None,
    lay_out: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Every way the .docx differs from what its template (and, given one, its workbook) promises; with
    its PDF, or laid out now by LibreOffice (`lay_out`), what its pages show (cover, header, blank pages)."""
    from opsdoc.qa.verify import verify_document

    if not lay_out:
        return verify_document(document, template, workbook, skip=skip, pdf=pdf)
    from opsdoc.generate.pdf import export_pdf

    with tempfile.TemporaryDirectory(prefix="opsdoc-verify-") as work:
        laid = Path(work) / "document.pdf"
        export_pdf(document, laid, progress)
        return verify_document(document, template, workbook, skip=skip, pdf=laid)


def compare(old: Path, new: Path, options: CompareOptions = CompareOptions()) -> Compared:
    """What changes from the issued `old` to `new`, a .docx or a workbook rendered in memory."""
    return pipeline.compare(old, new, options)


def redline(
    old: Path,
    new: Path,
    output: Path,
    options: RedlineOptions = RedlineOptions(),
    *,
    progress: Progress | None = None,
) -> RedlineResult:
    """The 对比稿: `new` with every change from `old` as Word tracked changes (and its PDF)."""
    return pipeline.write_redline(old, new, output, options, progress)


def check_template(template: Path | None = None, *, skip: Iterable[str] = ()) -> Report:
    """A company Word template's names, chapters and TOC field (None: the bundled template)."""
    from opsdoc.qa.template_check import check_template as run

    return run(template, skip=skip)


# ---------------------------------------------------------------- document control


def issue(workbook: Path, options: IssueOptions = IssueOptions(), *, progress: Progress | None = None) -> IssueResult:
    """Release the workbook's version: check (strict), build, PDF/A, verify, file and register, all or nothing."""
    return pipeline.issue(workbook, options, progress=progress)


def register_entries(archive: Path, *, on: date | None = None) -> list[Entry]:
    """The register's versions, newest first, each with its status (待生效, 现行, 作废, 撤销) on `on` (today)."""
    from opsdoc.control.register import entries, open_register

    with open_register(archive) as connection:
        return entries(connection, on=on)


def sync_register(archive: Path) -> list[Entry]:
    """The 作废 copy of every version that has become 作废 by today (issue does it too); the versions done."""
    from opsdoc.control.issue import sync

    return sync(archive)


def withdraw(archive: Path, file_code: str, version: str, *, by: str | None = None) -> Entry:
    """撤销 a 待生效 version before it takes effect; its files stay, the register says 撤销."""
    from opsdoc.control.issue import withdraw as run

    return run(archive, file_code, version, by=by)


def export_register(archive: Path, output: Path, *, force: bool = False) -> Written:
    """The register as the formatted 受控文件清单.xlsx auditors ask for."""
    from opsdoc.control.export import register_workbook
    from opsdoc.control.register import register_path

    if output.resolve().is_relative_to(archive.resolve()):  # the archive holds registered files only
        raise OpsdocError(
            output, "导出的清单不能写在归档文件夹内（verify 会把它当作未登记的文件）：请用 -o 写到归档之外"
        )
    outputs = Outputs(inputs=[register_path(archive)], force=force)
    outputs.add(FileKind.REGISTER, output, register_workbook(register_entries(archive)))
    (written,) = outputs.write()
    return written


def verify_archive(archive: Path) -> Report:
    """Every archived file against the SHA-256 its register row holds."""
    from opsdoc.control.register import verify_archive as run

    return run(archive)


# ---------------------------------------------------------------- adoption


def import_document(
    source: Path, output: Path | None = None, *, template: Path | None = None, force: bool = False
) -> ImportResult:
    """A hand-written specification read back into a workbook (default: beside it, same name, .xlsx)."""
    from opsdoc.importer import import_document as run

    return run(source, output or source.with_suffix(".xlsx"), template=template, force=force)


# ---------------------------------------------------------------- what opsdoc knows


def finding_codes() -> list[Code]:
    """Every finding code of every stage, in catalogue order."""
    return list(CATALOGUE.values())


def unskippable(codes: Iterable[str], *stages: Stage) -> str | None:
    """Why one of `codes` cannot be skipped by a command of these stages; None when all can."""
    allowed = {c.code for c in codes_of(*stages)}
    for code in codes:
        if code not in CATALOGUE:
            return f"未知的代码：{code}（opsdoc rules 列出全部代码）"
        if code not in allowed:
            where = "、".join(s.label for s in CATALOGUE[code].stages)
            return f"{code} 属于「{where}」，不是本命令报告的代码（opsdoc rules 列出全部代码）"
    return None


@dataclass(frozen=True)
class Versions:
    opsdoc: str
    template: str  # the bundled Word template's
    contract: str  # the workbook contract's: the sheets, headers and values a workbook has


def versions() -> Versions:
    from importlib import metadata  # 11 ms to import: only for --version

    try:
        installed = metadata.version("opsdoc")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        installed = "（未安装，源码运行）"
    return Versions(installed, TEMPLATE_VERSION, CONTRACT_VERSION)
