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
from opsdoc.control.duties import Duty, Handout
from opsdoc.errors import OpsdocError
from opsdoc.generate.context import TEMPLATE_VERSION
from opsdoc.office.output import FileKind, Outputs, Published, Written, safe_file_name
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
    from opsdoc.contract.conventions import Conventions
    from opsdoc.control.copies import Distributed, Holding
    from opsdoc.control.move import Moved
    from opsdoc.control.register import Copy, Entry, Review
    from opsdoc.control.review import Due
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
    "Copy",
    "Distributed",
    "Due",
    "Duty",
    "FileKind",
    "Finding",
    "Handout",
    "Holding",
    "IssueOptions",
    "IssueResult",
    "OpsdocError",
    "Progress",
    "Published",
    "RedlineOptions",
    "RedlineResult",
    "Report",
    "Review",
    "Stage",
    "Versions",
    "Written",
    "annotate",
    "archived_file",
    "build",
    "build_batch",
    "check",
    "check_template",
    "compare",
    "copies",
    "dispose",
    "distribute",
    "due",
    "export_register",
    "finding_codes",
    "import_document",
    "issue",
    "new_workbook",
    "recall",
    "redline",
    "register_entries",
    "review",
    "safe_file_name",
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


def keep_office_warm(workers: int, ready: Callable[[str], None]) -> None:
    """Keep `workers` LibreOffices warm for every PDF export of this user's opsdoc commands, until interrupted
    (`opsdoc office`); `ready` is told where it listens once it does. Raises LibreOfficeMissing, or
    OpsdocError when one is running already."""
    from opsdoc.generate.office import serve

    serve(workers, ready)


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


def register_database(archive: Path) -> str | None:
    """The server database that holds the archive's register (its URL, without a password); None when the
    register is the SQLite file in the archive folder."""
    from opsdoc.control.database import register_url, shown

    url = register_url(archive)
    return shown(url) if url is not None else None


def move_register(archive: Path, to: str, *, by: str | None = None) -> Moved:
    """Move the archive's SQLite register into the empty PostgreSQL database `to` (a URL), all or nothing;
    the file is closed to writes and says where the register went. Then set register_url to `to`."""
    from opsdoc.control.move import move_register as run
    from opsdoc.control.register import operator

    return run(archive, to, by=by or operator())


def export_register(
    archive: Path,
    output: Path,
    *,
    force: bool = False,
    config: Path | None = None,
    by: str | None = None,
    on: date | None = None,
) -> Written:
    """The register as the printed 受控文件清单.xlsx auditors ask for: the versions, the copies handed out
    and recalled, each version's review and retention, as they stand on `on` (today); `by` is the 制表人."""
    from opsdoc.control.copies import holdings_in
    from opsdoc.control.export import Listing, company_of, register_workbook
    from opsdoc.control.register import entries, open_register, operator, register_path, reviews

    if output.resolve().is_relative_to(archive.resolve()):  # the archive holds registered files only
        raise OpsdocError(
            output, "导出的清单不能写在归档文件夹内（verify 会把它当作未登记的文件）：请用 -o 写到归档之外"
        )
    conventions = _register_conventions(archive, config)
    day = on or date.today()
    with open_register(archive) as connection:
        versions = entries(connection, on=day)
        listing = Listing(
            versions,
            holdings_in(connection, day, versions),
            [r for r in reviews(connection) if r.reviewed_on <= day.isoformat()],
            conventions,
            conventions.company or company_of(archive, versions),
            by or operator(),
            day,
        )
    outputs = Outputs(inputs=[register_path(archive)], force=force)
    outputs.add(FileKind.REGISTER, output, register_workbook(listing))
    (written,) = outputs.write()
    return written


def distribute(
    archive: Path,
    file_code: str,
    version: str,
    output: Path,
    handout: Handout,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Distributed:
    """Hand out a copy of a version in force: its PDF, made from the archived master, says on every page
    受控 and its 分发号 (allocated and registered here), or 非受控（仅供参考）; written into `output`."""
    from opsdoc.control.copies import distribute as run
    from opsdoc.generate.pdf import pdf_of

    return run(
        archive,
        file_code,
        version,
        output,
        handout,
        lay_out=lambda data: pdf_of(data, progress)[1],
        force=force,
    )


def recall(
    archive: Path, file_code: str, version: str, number: str, *, on: date | None = None, by: str | None = None
) -> Copy:
    """Record the return of the controlled copy with this 分发号."""
    from opsdoc.control.copies import recall as run

    return run(archive, file_code, version, number, on=on, by=by)


def copies(archive: Path, *, on: date | None = None) -> list[Holding]:
    """Every copy handed out, with whether it is to be recalled on `on` (today)."""
    from opsdoc.control.copies import holdings

    return holdings(archive, on)


def due(archive: Path, *, config: Path | None = None, on: date | None = None, soon: int = 30) -> list[Due]:
    """What the 文控 must do by `on` (today) + `soon` days: reviews due, copies to recall, retention run out.
    The review period and retention come from `config`, else the opsdoc.toml beside the archive folder."""
    from opsdoc.control.review import due as run

    return run(archive, _register_conventions(archive, config), on, soon)


def review(
    archive: Path,
    file_code: str,
    version: str,
    *,
    conclusion: str = "继续适用",
    on: date | None = None,
    by: str | None = None,
) -> Review:
    """Record a periodic review (定期评审) that found the version in force still fit."""
    from opsdoc.control.review import review as run

    return run(archive, file_code, version, conclusion=conclusion, on=on, by=by)


def dispose(archive: Path, file_code: str, version: str, *, config: Path | None = None, by: str | None = None) -> Entry:
    """Dispose of a 作废 or 撤销 version past its retention: the register row stays, the files are kept
    or removed as opsdoc.toml's dispose_files says."""
    from opsdoc.control.review import dispose as run

    return run(archive, file_code, version, _register_conventions(archive, config), by=by)


def _register_conventions(archive: Path, config: Path | None) -> Conventions:
    """`config`, else the opsdoc.toml in the archive folder's parent (where issue's `archive` points from)."""
    from opsdoc.contract.conventions import load_conventions

    return load_conventions(archive.resolve(), config)


def archived_file(archive: Path, file_code: str, version: str, kind: str) -> tuple[str, bytes]:
    """A file the register holds for a version (kind: docx, pdf, void_pdf, void_docx, redline, notes), read
    only from inside the archive and only while it has its registered SHA-256: its name and bytes."""
    from opsdoc.control.register import find, open_register, read_archived

    kinds = ("docx", "pdf", "void_pdf", "void_docx", "redline", "notes")
    with open_register(archive) as connection:
        entry = find(connection, file_code, version)
    relative, digest = (
        (getattr(entry, f"{kind}_path"), getattr(entry, f"{kind}_sha256")) if entry and kind in kinds else (None, None)
    )
    if entry is None or entry.files_removed or not relative or not digest:
        raise OpsdocError(None, f"登记册中没有 {file_code} {version} 的这个文件")
    name = relative.rsplit("/", 1)[-1]
    return name, read_archived(archive, relative, digest, name, "不提供下载")


def verify_archive(archive: Path) -> Report:
    """Every archived file against the SHA-256 its register row holds."""
    from opsdoc.control.register import verify_archive as run

    return run(archive)


# ---------------------------------------------------------------- adoption


def import_document(
    source: Path,
    output: Path | None = None,
    *,
    template: Path | None = None,
    force: bool = False,
    config: Path | None = None,
) -> ImportResult:
    """A specification written by hand (a .docx, or a .doc/.wps LibreOffice converts) read back into a
    workbook (default: beside it, same name, .xlsx); `config`'s [synonyms] add to the bundled words."""
    from opsdoc.importer import import_document as run

    return run(source, output or source.with_suffix(".xlsx"), template=template, force=force, config=config)


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
