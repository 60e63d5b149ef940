"""The pipeline, stage by stage: read → validate → rules → render → output."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import signal
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdoc.contract.conventions import CONFIG_NAME, Conventions, load_conventions
from opsdoc.contract.findings import Report
from opsdoc.contract.model import SHEET_BY_NAME, SHEETS, Document, DocumentInfo
from opsdoc.contract.vocabulary import DOCUMENT_KIND, REDLINE_SUFFIX
from opsdoc.errors import OpsdocError, UnusableDocument
from opsdoc.generate.context import build_context
from opsdoc.generate.draft import draft as draft_of
from opsdoc.office.output import FileKind, Outputs, Written, ensure_folder, safe_file_name
from opsdoc.workbook.reader import Workbook, read_workbook
from opsdoc.workbook.rules import run_rules

if TYPE_CHECKING:  # the release path (verify, python-docx) loads only for `opsdoc issue`
    from opsdoc.control.issue import Issued
    from opsdoc.qa.diff import DocumentDiff

DRAFT_SUFFIX = "_草稿"


@dataclass(frozen=True)
class CheckOptions:
    """How a workbook is checked: by `check`, and first by every build, comparison and issue."""

    config: Path | None = None  # company conventions; None: the opsdoc.toml beside the workbook, if any
    skip: tuple[str, ...] = ()  # rule codes not to run
    strict: bool = False  # warnings stop a build as errors do


@dataclass(frozen=True)
class BuildOptions(CheckOptions):
    """How the document is made from a checked workbook."""

    template: Path | None = None  # the company's Word template; None: the bundled one
    force: bool = False  # overwrite a file of the same name with other bytes (an issued version)
    draft: bool = False  # build despite errors: 〔待填写〕 where values are missing, a draft's name and marks
    pdf: bool = False  # lay out with LibreOffice: the PDF beside the .docx, real page numbers in its TOC


@dataclass(frozen=True)
class Checked:
    """A workbook read, validated and checked: what a build, a comparison or an issue goes on from."""

    workbook: Workbook
    conventions: Conventions
    report: Report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic collector held off while one workbook is read, checked and rendered, and for
    the rest of a build (its PDF, 对比稿 and annotated copy).

    What these stages make (cells, records, the context, the rendered XML) lives until the document
    is written and holds no cycles to free, yet as it grows the collector walks all of it again and
    again: 0.3 s of a 20,000-row build's 2 s, for nothing (the peak memory is the same, with a PDF, a
    对比稿 or an annotated copy too). Let run between two stages, it would first walk all that the
    stage before made. Afterwards it runs as before, so a batch worker or the web server frees what a
    build leaves; the setting is the process's, so the web server's other threads run without it
    while a build runs.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@_collector_paused()
def check(path: Path, options: CheckOptions = CheckOptions()) -> Checked:
    """Read the workbook and run every rule; all findings come back at once."""
    skipped = set(options.skip)
    conventions = load_conventions(path, options.config)
    workbook = read_workbook(path)
    findings = [f for f in workbook.findings if f.code not in skipped]
    if workbook.document is not None:
        findings += run_rules(workbook.document, workbook.cells, conventions, skip=skipped)
    return Checked(workbook, conventions, Report(str(path), findings, tuple(s.title for s in SHEETS)))


def may_render(checked: Checked, *, strict: bool, draft: bool = False) -> bool:
    """Whether the workbook's document is made: the one place every build, comparison and issue asks.

    Only a workbook with no errors (no warnings either, when strict) gives a document; a draft
    is made from any workbook that reads, marking what is missing instead.
    """
    return draft or (checked.workbook.document is not None and checked.report.passes(strict))


@_collector_paused()
def render_checked(checked: Checked, template: Path | None, *, draft: bool = False) -> tuple[Document, bytes]:
    """The document a checked workbook gives (may_render said yes) and its .docx bytes."""
    document, context = _context(checked, draft)
    return document, _render(document, context, template)


def _context(checked: Checked, draft: bool) -> tuple[Document, dict[str, Any]]:
    document = checked.workbook.document
    if document is None:  # a draft of a workbook still being filled: mark what is missing
        return draft_of(checked.workbook, checked.conventions)
    return document, build_context(document, checked.conventions, draft=draft)


def _render(document: Document, context: dict[str, Any], template: Path | None) -> bytes:
    # docxtpl and python-docx load only for a command that renders: `check` starts without them.
    from opsdoc.generate.render import render_document

    return render_document(document, context, template)


def write_annotated(checked: Checked, output: Path, *, force: bool = False) -> Written:
    """Write the annotated copy of the checked workbook; never over the workbook itself."""
    from opsdoc.workbook.annotate import annotate  # openpyxl loads only when a copy is asked for

    source = checked.workbook.path
    outputs = Outputs(inputs=[source], force=force)
    outputs.add(FileKind.ANNOTATED, output, annotate(source, checked.report, checked.workbook.document))
    (written,) = outputs.write()
    return written


def output_name(info: DocumentInfo, *, draft: bool = False) -> str:
    """{文件编码}_{项目名称}运维工作管理规范_{版本号}.docx; a draft never takes an issued name.

    A name too long for the file system loses the end of the project name, never the version.
    """
    suffix = f"{DOCUMENT_KIND}_{info.version}{DRAFT_SUFFIX if draft else ''}.docx"
    return safe_file_name(f"{info.file_code}_{info.project_name}", suffix)


@dataclass(frozen=True)
class BuildResult:
    """The workbook's findings and every file the build wrote, each with its kind and status."""

    report: Report
    files: tuple[Written, ...] = ()  # none, or only the annotated copy and context: refused

    def written(self, kind: FileKind) -> Written | None:
        return next((f for f in self.files if f.kind is kind), None)

    @property
    def output(self) -> Path | None:
        """The .docx; None when findings refused the build."""
        document = self.written(FileKind.DOCUMENT)
        return document.path if document is not None else None


@_collector_paused()
def build(
    path: Path,
    out_dir: Path,
    options: BuildOptions = BuildOptions(),
    *,
    dump_context: Path | None = None,
    annotate: Path | None = None,
    redline: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Check, then render and publish; nothing is written while errors remain (unless a draft).

    dump_context receives the exact template context as JSON whenever the workbook reads.
    With pdf, LibreOffice lays the document out first: the PDF and the .docx's own TOC then
    carry the real page numbers. Every output is judged before any is written (see Outputs):
    one that may not be written (an input, an issued version) leaves none of them written.
    With annotate, the annotated copy of the workbook is written first, so a refused build
    leaves the manager the findings in the workbook itself. With redline (the issued version),
    the 对比稿 {name}_对比稿.docx is written beside the new version (and its PDF with pdf).
    """
    if options.pdf:  # LibreOffice starts (once per process) while the workbook is read and rendered
        from opsdoc.generate.pdf import warm_up

        warm_up()
    checked = check(path, options)
    files = [write_annotated(checked, annotate, force=options.force)] if annotate else []
    if checked.workbook.document is None and not options.draft:
        return BuildResult(checked.report, tuple(files))
    document, context = _context(checked, options.draft)
    beside = path.parent / CONFIG_NAME  # read when no --config is given: an input too
    read_config = options.config or (beside if beside.is_file() else None)
    outputs = Outputs(inputs=[path, options.template, read_config, redline], force=options.force)
    if dump_context:
        outputs.add(FileKind.CONTEXT, dump_context, json.dumps(context, ensure_ascii=False, indent=2).encode("utf-8"))
    if may_render(checked, strict=options.strict, draft=options.draft):
        data = _render(document, context, options.template)
        name = out_dir / output_name(document.info, draft=options.draft)
        pdf_data = None
        if options.pdf:
            data, pdf_data = _laid_out(data, progress)
        outputs.add(FileKind.DOCUMENT, name, data)
        if pdf_data is not None:
            outputs.add(FileKind.PDF, name.with_suffix(".pdf"), pdf_data)
        if redline is not None:
            for kind, target, content in marked_up(redline, data, name.stem + REDLINE_SUFFIX, options.pdf, progress):
                outputs.add(kind, out_dir / target, content)
        ensure_folder(out_dir)
    return BuildResult(checked.report, (*files, *outputs.write()))


def marked_up(
    issued: Path,
    new_version: Path | bytes,
    stem: str,
    pdf: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[FileKind, str, bytes]]:
    """The 对比稿 of the new version (a .docx, or the bytes of one rendered) against the issued .docx,
    `stem`.docx, and its PDF. A .docx given is read where it is, so what is wrong with it is said of it."""
    from opsdoc.qa.redline import redline as redline_of

    with tempfile.TemporaryDirectory(prefix="opsdoc-redline-") as work:
        source = new_version if isinstance(new_version, Path) else Path(work) / "new.docx"
        if isinstance(new_version, bytes):
            source.write_bytes(new_version)
        data = redline_of(issued, source).data
        files = [(FileKind.REDLINE, stem + ".docx", data)]
        if pdf:
            from opsdoc.generate.pdf import pdf_of

            files.append((FileKind.REDLINE_PDF, stem + ".pdf", pdf_of(data, progress)[1]))
    return files


@dataclass(frozen=True)
class CompareOptions:
    """How NEW is made when it is a workbook (rendered in memory; nothing is written)."""

    template: Path | None = None
    config: Path | None = None


@dataclass(frozen=True)
class RedlineOptions(CompareOptions):
    force: bool = False  # overwrite a 对比稿 of the same name with other bytes
    pdf: bool = False  # its PDF too, showing the tracked changes


@dataclass(frozen=True)
class RedlineResult:
    """NEW's findings when it is a workbook (None for a .docx), and the 对比稿 files written."""

    report: Report | None
    files: tuple[Written, ...] = ()  # none: the workbook has errors


def write_redline(
    old: Path,
    new: Path,
    output: Path,
    options: RedlineOptions = RedlineOptions(),
    progress: Callable[[str], None] | None = None,
) -> RedlineResult:
    """Write the 对比稿 of `new` (a .docx, or a workbook rendered in memory) against `old` to `output`.

    Nothing is written when the workbook has errors: its report comes back with no files.
    """
    version: Path | bytes = new  # a .docx is compared where it is
    report = None
    if is_workbook(new):
        report, data = render_in_memory(new, options)
        if data is None:
            return RedlineResult(report)
        version = data
    elif not new.is_file() or new.stat().st_size == 0:
        raise UnusableDocument(new, "文件不存在或为空")
    outputs = Outputs(inputs=[old, new, options.template, options.config], force=options.force)
    for kind, name, content in marked_up(old, version, output.stem, options.pdf, progress):
        outputs.add(kind, output.parent / name, content)
    ensure_folder(output.parent)
    return RedlineResult(report, tuple(outputs.write()))


def _laid_out(
    data: bytes, progress: Callable[[str], None] | None, keywords: tuple[str, ...] | None = None
) -> tuple[bytes, bytes]:
    """The .docx with its TOC page numbers and 共 M 页 written in, and its PDF (PDF/A-2b given `keywords`)."""
    # lxml and the UNO bridge: --pdf only
    from opsdoc.generate.pdf import Archival, pdf_of, write_section_pages, write_toc

    laid, pdf = pdf_of(data, progress, Archival(keywords) if keywords is not None else None)
    return write_section_pages(write_toc(data, laid.toc), laid.section_pages), pdf


# The .docx as rendered, progress, and the keywords → the laid-out .docx and its PDF/A.
LayOut = Callable[[bytes, Callable[[str], None] | None, tuple[str, ...]], tuple[bytes, bytes]]


@dataclass(frozen=True)
class IssueOptions:
    """Where and by whom a version is released."""

    archive: Path | None = None  # None: opsdoc.toml's `archive`, relative to that file's folder
    template: Path | None = None
    config: Path | None = None
    by: str | None = None  # 发布人; None: the operating-system user
    backdate: bool = False  # accept a 生效日期 before the day of issue (recorded with the version)
    rename: bool = False  # accept a new 文件名称 under a registered 文件编码 (recorded with the version)
    signed: str = ""  # the web page's record of who reviewed and approved it (recorded with the version)


@dataclass(frozen=True)
class IssueResult:
    report: Report  # the workbook's findings (strict: warnings refuse too)
    issued: Issued | None = None  # None: refused because of findings


def issue(
    path: Path,
    options: IssueOptions = IssueOptions(),
    *,
    progress: Callable[[str], None] | None = None,
    lay_out: LayOut | None = None,
) -> IssueResult:
    """Release the workbook's version into the archive: check (strict), build, PDF/A, verify, file, register.

    The release receives the checked workbook itself: verify reads the values it was given,
    not the file again. `lay_out` replaces the LibreOffice export (tests of the register use
    a fast stand-in).
    """
    from opsdoc.control.issue import Acknowledged, precheck, release

    checked = check(path, CheckOptions(config=options.config, strict=True))
    archive = options.archive or _configured_archive(path, options.config, checked.conventions)
    acknowledged = Acknowledged(backdate=options.backdate, rename=options.rename, signed=options.signed)
    if checked.workbook.document is not None:  # the register's checks too, all at once, before LibreOffice
        report = checked.report
        try:
            late = precheck(archive, checked.workbook, date.today(), acknowledged)
        except OpsdocError as refusal:  # what the 文控 must decide; the manager's part is said too
            if not report.errors:
                raise
            more = f"；另外工作簿有 {len(report.errors)} 个错误（opsdoc check 查看）"
            raise type(refusal)(refusal.path, refusal.message + more) from None
        checked = dataclasses.replace(
            checked, report=Report(report.source, [*report.findings, *late], report.sheet_order)
        )
    if not may_render(checked, strict=True):
        return IssueResult(checked.report)
    document, data = render_checked(checked, options.template)
    docx, pdf = (lay_out or _laid_out)(data, progress, (document.info.file_code, document.info.version))
    issued = release(
        archive,
        checked.workbook,
        output_name(document.info),
        docx,
        pdf,
        template=options.template,
        by=options.by,
        acknowledged=acknowledged,
    )
    return IssueResult(checked.report, issued)


def _configured_archive(path: Path, config: Path | None, conventions: Conventions) -> Path:
    if conventions.archive is None:
        raise OpsdocError(None, "未指定归档文件夹：请用 --archive DIR，或在 opsdoc.toml 中设置 archive")
    return (
        ((config or path).parent / conventions.archive)
        if not conventions.archive.is_absolute()
        else conventions.archive
    )


# Spreadsheets a user may have meant as workbooks; a folder's are listed, so the batch says
# for each why it was not built (e.g. .xls: save as .xlsx) instead of skipping it silently.
LOOKALIKES = {".xls", ".xlsm", ".xlsb", ".et", ".ods", ".csv"}


def workbooks_in(arguments: Iterable[Path]) -> list[Path]:
    """Files as given; a folder contributes its spreadsheets, .xlsx in any case and lookalikes.

    Excel's ~$ lock files and hidden files (macOS's ._ companions) are not workbooks.
    """
    found: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            found += sorted(
                p
                for p in argument.iterdir()
                if p.suffix.lower() in LOOKALIKES | {".xlsx"} and not p.name.startswith(("~$", ".")) and p.is_file()
            )
        else:
            found.append(argument)
    return found


@dataclass(frozen=True)
class BatchItem:
    """The outcome of one workbook of a batch; plain data, so it crosses process boundaries."""

    source: Path
    result: BuildResult | None = None
    error: str | None = None  # the one-line reason when the workbook could not be built at all
    exit_code: int = 0


def _build_one(source: Path, out_dir: Path, options: BuildOptions) -> BatchItem:
    try:
        result = build(source, out_dir, options)
    except OpsdocError as exc:
        return BatchItem(source, error=exc.message, exit_code=exc.exit_code)
    except Exception as exc:  # one broken workbook must not stop the others
        return BatchItem(source, error=f"内部错误：{type(exc).__name__}: {exc}", exit_code=2)
    return BatchItem(source, result, exit_code=0 if result.output else 1)


def build_many(
    sources: list[Path], out_dir: Path, options: BuildOptions = BuildOptions(), *, jobs: int = 1
) -> Iterator[BatchItem]:
    """Build every workbook in `jobs` worker processes; yields each outcome as it completes.

    The parent opens the template before the workers start, and the forked workers inherit it;
    each compiles it on its first document (or loads the code an earlier run kept) and reuses
    it (see render). A worker that dies (a crash in native code, the OOM killer) takes down only
    its pool: the workbooks whose outcome was lost are built again one at a time, so the one that
    kills its worker again is reported by name and every other one is built.
    """
    from opsdoc.generate.render import open_template

    with contextlib.suppress(Exception):  # a template that cannot be opened is reported with each workbook
        open_template(options.template)
    lost = yield from _in_pool(sources, out_dir, jobs, options)
    for source in lost:
        again = yield from _in_pool([source], out_dir, 1, options)
        for crashed in again:
            yield BatchItem(
                crashed, error="处理该工作簿时进程异常退出（崩溃或内存耗尽），未生成；其他工作簿不受影响", exit_code=2
            )


def _in_pool(
    sources: list[Path], out_dir: Path, jobs: int, options: BuildOptions
) -> Generator[BatchItem, None, list[Path]]:
    """Yield the outcome of each workbook; return those whose worker died before answering."""
    from concurrent.futures import ProcessPoolExecutor, as_completed  # a batch's only (≈ 10 ms to import)
    from concurrent.futures.process import BrokenProcessPool

    lost: list[Path] = []
    workers = max(1, min(jobs, len(sources)))
    with ProcessPoolExecutor(max_workers=workers, initializer=_unwind_on_terminate) as pool:
        pending = {pool.submit(_build_one, source, out_dir, options): source for source in sources}
        for done in as_completed(pending):
            try:
                outcome = done.result()
            except BrokenProcessPool:
                lost.append(pending[done])
                continue
            yield outcome
    return sorted(lost)


def _unwind_on_terminate() -> None:
    """In a worker: when the pool terminates it (another worker died), unwind like Ctrl-C does.

    The pool stops the surviving workers with SIGTERM, whose default action ends the process
    on the spot; raised as SystemExit instead, a document being written removes its temporary
    file (write_atomic) and the LibreOffice helper is closed, so the retry finds a clean folder.
    """
    signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass(frozen=True)
class Compared:
    """OLD against NEW; NEW a .docx, or a workbook rendered in memory (report: its findings)."""

    report: Report | None  # None when NEW is a .docx
    diff: DocumentDiff | None = None  # None: the workbook has errors, nothing was rendered
    note_pending: str | None = None  # the 修订说明 cell still to fill, when that was the only gap


def render_in_memory(path: Path, options: CompareOptions = CompareOptions()) -> tuple[Report, bytes | None]:
    """The .docx a build of the workbook would write, as bytes; nothing is written. None while errors remain."""
    checked = check(path, CheckOptions(config=options.config))
    if not may_render(checked, strict=False):
        return checked.report, None
    return checked.report, render_checked(checked, options.template)[1]


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() == ".xlsx"


def compare(old: Path, new: Path, options: CompareOptions = CompareOptions()) -> Compared:
    """What changes from the issued `old` to `new` (a .docx or a workbook that may never have been built)."""
    from opsdoc.qa.diff import diff_documents

    with tempfile.TemporaryDirectory(prefix="opsdoc-diff-") as work:
        rendered, report, pending = new, None, None
        if is_workbook(new):
            checked = check(new, CheckOptions(config=options.config))
            report, pending = checked.report, _pending_note(checked)
            if may_render(checked, strict=False):
                data = render_checked(checked, options.template)[1]
            elif pending is not None:  # what diff --note is for: the summary that will fill it
                document, context = _context(checked, draft=True)
                context["doc"]["draft"] = False  # compared as the version will be, not as a draft
                data = _render(document, context, options.template)
            else:
                return Compared(report)
            rendered = Path(work) / (new.stem + ".docx")
            rendered.write_bytes(data)
        diff = diff_documents(old, rendered)
    diff.new = str(new)
    return Compared(report, diff, pending)


# What a 修订说明 still to be written is reported as: empty, a placeholder, or 待填写.
NOTE_PENDING = frozenset({"missing-value", "placeholder-text", "revision-note"})


def _pending_note(checked: Checked) -> str | None:
    """The last 修订记录 row's 修订说明 cell when it is the workbook's only error, else None."""
    errors = checked.report.errors
    rows = checked.workbook.data.get(SHEET_BY_NAME["revisions"].title) or []
    if not errors or not rows or any(f.code not in NOTE_PENDING for f in errors):
        return None
    cell = checked.workbook.cells.ref("revisions", len(rows) - 1, "note")
    return cell if all(str(f.location) == cell for f in errors) else None
