"""The act of release: file a built and verified version in the archive and record it, all or nothing.

Before anything is written, the version must fit what the register holds: its 文件编码 bound to
this document (another title is a deliberate `rename`), every issued version still in the
修订记录 as it was issued, a version higher than every registered one, no other version
waiting to take effect, approved by today, in effect from today on (an earlier 生效日期 is a
deliberate `backdate`).

The files are written into a staging folder inside the archive (same file system, so moving
them into place is a rename), checked there, and moved to {文件编码}/{版本号}/ only while the
register is held by its writers' lock; the register row is committed last. Any failure before
the commit (a finding, an export error, a full disk, Ctrl-C) moves back what was moved and
removes the staging folder, so the archive and the register stay exactly as they were.

A version takes effect on its 生效日期: the one it replaces stays 现行 until then, and gets its
作废 copy from the first issue or `register sync` on or after that day.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from opsdoc.contract.findings import Cell, Finding, Report, finding
from opsdoc.contract.model import SHEETS, Document, identifier
from opsdoc.contract.vocabulary import (
    CURRENT,
    DOCUMENT_KIND,
    NOTES_SUFFIX,
    PENDING_EFFECT,
    REDLINE_SUFFIX,
    SUPERSEDED,
    WITHDRAWN,
    parse_version,
)
from opsdoc.control import register
from opsdoc.control.archive import STAGING_PREFIX, folder_name, resolve, version_folder
from opsdoc.control.copies import holdings_in
from opsdoc.control.database import register_exists
from opsdoc.control.register import REGISTER_NAME, Copy, Entry, Register, open_register, operator
from opsdoc.control.stamp import stamp_void
from opsdoc.errors import IssuedVersionExists, OutputError
from opsdoc.generate.marks import marked
from opsdoc.office.output import ensure_folder, write_atomic
from opsdoc.qa.verify import verify_document
from opsdoc.workbook.cells import Cells
from opsdoc.workbook.reader import Workbook

VOID_SUFFIX = "_作废"
FOLDER_BYTES = 200  # a 文件编码's folder name, leaving room for the version folder and the file name


class Outcome(StrEnum):
    ISSUED = "issued"
    UNCHANGED = "unchanged"  # this version is registered with the same .docx: nothing to do
    REFUSED = "refused"  # the register or verify found problems: nothing filed

    @property
    def label(self) -> str:
        return {"issued": "已发布并登记", "unchanged": "已登记，内容相同，未改动", "refused": "未发布"}[self.value]


@dataclass
class Issued:
    outcome: Outcome
    report: Report | None = None  # why it was refused, or verify's report of the staged document
    entry: Entry | None = None  # with its status today: 现行, or 待生效 until its 生效日期
    superseded: list[Entry] = field(default_factory=list)  # versions that became 作废 and got their copy now
    to_recall: list[Copy] = field(default_factory=list)  # controlled copies of this document's 作废 versions still out


@dataclass(frozen=True)
class Acknowledged:
    """What the 文控 decided deliberately at issue; each is recorded with the version."""

    backdate: bool = False  # a 生效日期 before the day of issue
    rename: bool = False  # a new 文件名称 under a registered 文件编码
    signed: str = ""  # who reviewed and approved it in the web page, and when (recorded as it is)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def release(
    archive: Path,
    workbook: Workbook,
    docx_name: str,
    docx: bytes,
    pdf: bytes,
    *,
    template: Path | None,
    by: str | None = None,
    now: datetime | None = None,
    acknowledged: Acknowledged = Acknowledged(),
) -> Issued:
    """File `docx` and `pdf` as the version the checked `workbook` describes, and record it in the register.

    The staged document is verified against the template and the workbook's own values.
    """
    document = workbook.document
    if document is None:
        raise ValueError("release needs a workbook that read without errors")
    info = document.info
    moment = now or datetime.now()
    ensure_folder(archive)
    with open_register(archive, create=True) as connection:
        known = register.find(connection, info.file_code, info.version)
        if known is not None:
            return _already(known, docx, archive)
        staging = _staging(archive)  # pipeline.issue ran the register's checks; they run again under the lock
        try:
            staged = staging / "version"
            try:
                staged.mkdir()
                write_atomic(staged / docx_name, docx)
                write_atomic((staged / docx_name).with_suffix(".pdf"), pdf)
            except (OSError, OutputError) as exc:  # the cause, said of the archive, not of a staging file
                cause = exc.__cause__ if isinstance(exc, OutputError) else exc
                raise _archive_error(archive, cause if isinstance(cause, OSError) else OSError(str(exc))) from exc
            # the staged document, its laid-out pages too: a cover on two pages is not issued
            report = verify_document(
                staged / docx_name, template, workbook, pdf=(staged / docx_name).with_suffix(".pdf")
            )
            report.source = docx_name  # the document being issued, not the staging folder's copy
            if not report.passes():
                return Issued(Outcome.REFUSED, report)
            previous, package = _release_package(connection, archive, staged, docx_name, document)
            connection.lock()  # from here on, concurrent issues wait for this one
            try:
                # The register's checks again, now that no other issue can change it until the commit.
                moment = now or datetime.now()
                findings, notes = _fits(
                    _Known.of(connection, info.file_code, moment.date()), workbook, moment.date(), acknowledged
                )
                if findings:
                    connection.rollback()
                    return Issued(Outcome.REFUSED, Report(str(workbook.path), findings, tuple(s.title for s in SHEETS)))
                now_previous = _previous(connection, info.file_code, info.version)
                if (now_previous and now_previous.version) != (previous and previous.version):
                    raise IssuedVersionExists(
                        None, "生成对比稿期间另一位文控登记了新版本，对比稿的基准已变：请重新运行 opsdoc issue"
                    )
                issued = _file(
                    connection, archive, staging, document, docx_name, (docx, pdf), package, by, moment, notes
                )
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            issued.report = report
            return issued
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def sync(archive: Path, now: datetime | None = None) -> list[Entry]:
    """Give every version that has become 作废 by today its 作废 copy, all or nothing; the versions done."""
    today = (now or datetime.now()).date()
    with open_register(archive) as connection:
        if not any(register.void_pending(e) for e in register.entries(connection, on=today)):
            return []  # nothing due: nothing written (a read-only archive is fine)
        staging = _staging(archive)
        try:
            connection.lock()
            with all_or_nothing(connection, archive) as undo:
                voided = _void_due(connection, archive, staging, today, undo)
            return voided
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def withdraw(
    archive: Path, file_code: str, version: str, *, by: str | None = None, now: datetime | None = None
) -> Entry:
    """撤销 a version that has not taken effect yet; its files stay in the archive, marked so in the register."""
    moment = now or datetime.now()
    file_code, version = identifier(file_code), identifier(version)  # as the workbook's are compared
    with open_register(archive) as connection:
        connection.lock()
        entry = register.registered(connection, archive, file_code, version)
        if entry.status != PENDING_EFFECT:
            done = entry.status == WITHDRAWN
            why = "已撤销，不能再次撤销" if done else f"是{entry.status}版本：只有待生效的版本可以撤销"
            raise IssuedVersionExists(archive / entry.docx_path, f"{version} {why}")
        register.withdraw(connection, entry, at=moment.astimezone().isoformat(timespec="seconds"), by=by or operator())
        connection.commit()
        withdrawn = register.find(connection, file_code, version)
    assert withdrawn is not None
    return withdrawn


def _staging(archive: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=archive))
    except OSError as exc:
        raise _archive_error(archive, exc) from exc


def _archive_error(archive: Path, exc: OSError) -> OutputError:
    """The real cause, naming the file: a read-only archive, a full disk, a missing file."""
    inside = exc.filename and STAGING_PREFIX not in str(exc.filename)  # a staging file means nothing to the user
    return OutputError(
        Path(exc.filename) if inside else archive,
        f"无法写入归档（{exc.strerror or exc}），归档和登记册未改动",
    )


def _already(known: Entry, docx: bytes, archive: Path) -> Issued:
    """A version the register holds: unchanged only if it is in force, the same, and intact in the archive."""
    archived = archive / known.docx_path
    if known.status in (SUPERSEDED, WITHDRAWN):
        after = f"被 {known.superseded_by} 替代" if known.status == SUPERSEDED else f"由 {known.withdrawn_by} 撤销"
        when = (known.superseded_at or known.withdrawn_at or "")[:10]
        raise IssuedVersionExists(
            archived, f"{known.version} 已{known.status}（{when} {after}），不能再次发布：请提升版本号"
        )
    if known.docx_sha256 != sha256(docx):
        raise IssuedVersionExists(
            archived, f"{known.version} 已于 {known.issued_at} 发布且内容不同：请提升版本号后再发布"
        )
    register.read_archived(
        archive, known.docx_path, known.docx_sha256, f"已登记的 {known.version} .docx", "无法确认它仍是所发布的版本"
    )
    return Issued(Outcome.UNCHANGED, entry=known)


@dataclass(frozen=True)
class _Known:
    """What the register holds of one 文件编码, as release's checks need it."""

    bound: str | None  # the title the code is bound to
    sharing: str | None  # another code that would share its archive folder
    versions: list[Entry]  # with their status today

    @classmethod
    def of(cls, connection: Register, file_code: str, today: date) -> _Known:
        return cls(
            register.bound_title(connection, file_code),
            register.code_sharing_folder(connection, file_code),
            register.entries(connection, file_code, on=today),
        )


def precheck(
    archive: Path, workbook: Workbook, today: date, acknowledged: Acknowledged = Acknowledged()
) -> list[Finding]:
    """Release's checks against the register, before anything is rendered or laid out (release runs
    them again under the register's lock). Findings are at the workbook's cells; what only the 文控
    decides (another title under the code, a pending version) is raised."""
    document = workbook.document
    if document is None:
        return []
    known = _Known(None, None, [])
    if register_exists(archive):
        with open_register(archive) as connection:
            known = _Known.of(connection, document.info.file_code, today)
    return _fits(known, workbook, today, acknowledged)[0]


def _fits(known: _Known, workbook: Workbook, today: date, acknowledged: Acknowledged) -> tuple[list[Finding], str]:
    """What stops this version from following the ones registered: findings at the workbook's cells,
    or (for what only the 文控 decides) a refusal; and the note of what was acknowledged."""
    document = workbook.document
    assert document is not None
    info, last = document.info, document.revisions[-1]
    title = f"{info.project_name}{DOCUMENT_KIND}"
    bound, sharing, versions = known.bound, known.sharing, known.versions
    if any(e.version == info.version for e in versions):  # registered already: release says unchanged or refuses
        return [], ""
    notes: list[str] = []
    if bound is not None and bound != title:
        if not acknowledged.rename:
            raise IssuedVersionExists(
                None,
                f"文件编码 {info.file_code} 已登记为《{bound}》，本工作簿是《{title}》：另一个项目请使用自己的文件编码；"
                "确属同一文件改名，请加 --rename（改名会记入登记册）",
            )
        notes.append(f"文件名称由《{bound}》改为《{title}》（--rename）")
    if sharing is not None:
        raise IssuedVersionExists(
            None,
            f"文件编码 {info.file_code} 与已登记的 {sharing} 只差大小写或写法，会共用归档文件夹：请使用已登记的写法",
        )
    for pending in (e for e in versions if e.status == PENDING_EFFECT):
        raise IssuedVersionExists(
            None,
            f"{pending.version} 待生效（生效日期 {pending.effective_on}）：先撤销它"
            f"（opsdoc register withdraw {info.file_code} {pending.version}），或在它生效后再发布新版本",
        )
    newest = max(versions, key=lambda e: parse_version(e.version) or (0, 0), default=None)
    if newest is not None and (parse_version(newest.version) or (0, 0)) >= (parse_version(info.version) or (0, 0)):
        raise IssuedVersionExists(
            None, f"已登记的 {newest.version} 不低于 {info.version}：新版本的版本号必须高于所有已登记的版本"
        )
    cells = workbook.cells
    findings = _history_kept(document, [e for e in versions if e.status != WITHDRAWN], cells)
    effective_cell = Cell("文档信息", cells.ref("info", "effective_date"))
    folder = folder_name(info.file_code)
    if len(folder.encode("utf-8")) > FOLDER_BYTES or folder.startswith(REGISTER_NAME):
        findings.append(
            finding(
                "file-code-unfilable",
                Cell("文档信息", cells.ref("info", "file_code")),
                f"文件编码作为归档文件夹名「{folder[:40]}」过长或与登记册同名：请使用较短的、常规的文件编码",
            )
        )
    in_force = next((e for e in versions if e.status == CURRENT), None)
    if in_force is not None and info.effective_date.isoformat() < in_force.effective_on:
        findings.append(
            finding(
                "effective-before-predecessor",
                effective_cell,
                f"生效日期 {info.effective_date.isoformat()} 早于现行版本 {in_force.version} 的生效日期 {in_force.effective_on}",
            )
        )
    if info.effective_date < today:
        if acknowledged.backdate:
            notes.append(f"生效日期 {info.effective_date.isoformat()} 早于发布日 {today.isoformat()}（--backdate）")
        else:
            findings.append(
                finding(
                    "effective-before-issue",
                    effective_cell,
                    f"生效日期 {info.effective_date.isoformat()} 早于今天 {today.isoformat()}：版本不能在发布之前生效；"
                    "确需追溯生效，请加 --backdate（会记入登记册）",
                )
            )
    if last.approved_on > today:
        findings.append(
            finding(
                "approved-after-issue",
                Cell("修订记录", cells.ref("revisions", len(document.revisions) - 1, "approved_on")),
                f"批准日期 {last.approved_on.isoformat()} 晚于今天 {today.isoformat()}：版本批准后才能发布",
            )
        )
    if acknowledged.signed:
        notes.append(acknowledged.signed)
    return findings, "；".join(notes)


# What the register keeps of each issued version, and where the workbook's 修订记录 holds it.
_HISTORY = (
    ("compiled_on", "revised_on", "修订日期"),
    ("compiled_by", "reviser", "修订人"),
    ("reviewed_on", "reviewed_on", "审核日期"),
    ("reviewed_by", "reviewer", "审核人"),
    ("approved_on", "approved_on", "批准日期"),
    ("approved_by", "approver", "批准人"),
    ("note", "note", "修订说明"),
)


def _history_kept(document: Document, issued: list[Entry], cells: Cells) -> list[Finding]:
    """Every issued version is still in the 修订记录, as it was issued: history is not rewritten after release."""
    findings: list[Finding] = []
    rows = {revision.version: (index, revision) for index, revision in enumerate(document.revisions)}
    for entry in sorted(issued, key=lambda e: parse_version(e.version) or (0, 0)):
        if entry.version not in rows:
            findings.append(
                finding(
                    "history-missing-version",
                    Cell("修订记录", None),
                    f"修订记录中没有已发布的 {entry.version}（{entry.issued_at[:10]} 发布）：已发布版本的记录不能删除",
                )
            )
            continue
        index, revision = rows[entry.version]
        for registered, name, label in _HISTORY:
            value = getattr(revision, name)
            shown = "\n".join(value) if isinstance(value, list) else str(value)  # dates: ISO, as registered
            if shown != getattr(entry, registered):
                findings.append(
                    finding(
                        "history-rewritten",
                        Cell("修订记录", cells.ref("revisions", index, name)),
                        f"{entry.version} 的{label}发布时为「{getattr(entry, registered)}」，现为「{shown}」："
                        "已发布版本的记录不能改写",
                    )
                )
    return findings


def _release_package(
    connection: Register, archive: Path, staged: Path, docx_name: str, document: Document
) -> tuple[Entry | None, dict[str, tuple[str, str]]]:
    """The 修订说明 and, when a version came before, the 对比稿 against it, written beside the staged
    document and filed with it: the version before, and {"redline"/"notes": (file name, sha256)}."""
    from opsdoc.qa.diff import diff_documents
    from opsdoc.qa.redline import redline

    info = document.info
    previous = _previous(connection, info.file_code, info.version)
    stem = docx_name.removesuffix(".docx")
    package: dict[str, tuple[str, str]] = {}
    changes = ""
    if previous is not None:
        register.read_archived(
            archive, previous.docx_path, previous.docx_sha256, f"{previous.version} 的 .docx", "不与它生成对比稿"
        )
        old = resolve(archive, previous.docx_path)
        marked_up = redline(old, staged / docx_name).data
        name = f"{stem}{REDLINE_SUFFIX}.docx"
        write_atomic(staged / name, marked_up)
        package["redline"] = (name, sha256(marked_up))
        found = diff_documents(old, staged / docx_name)
        found.old, found.new = previous.version, info.version  # not the staging folder's path
        changes = found.to_text()
    notes = _notes(document, previous, changes).encode("utf-8")
    name = f"{stem}{NOTES_SUFFIX}.txt"
    write_atomic(staged / name, notes)
    package["notes"] = (name, sha256(notes))
    return previous, package


def _previous(connection: Register, file_code: str, version: str) -> Entry | None:
    """The version a new one follows: the highest registered below it, neither withdrawn nor disposed of
    with its files."""
    rank = parse_version(version) or (0, 0)
    before = [
        e
        for e in register.entries(connection, file_code)
        if e.status != WITHDRAWN and not e.files_removed and (parse_version(e.version) or (0, 0)) < rank
    ]
    return max(before, key=lambda e: parse_version(e.version) or (0, 0), default=None)


def _notes(document: Document, previous: Entry | None, changes: str) -> str:
    """The 修订说明 filed with a version: its history row as approved, and every change opsdoc found."""
    info, last = document.info, document.revisions[-1]
    lines = [
        f"{info.project_name}{DOCUMENT_KIND} 修订说明",
        f"文件编码：{info.file_code}",
        f"版本：{info.version}" + (f"（替代 {previous.version}）" if previous else "（首次发布）"),
        f"修订：{last.reviser} {last.revised_on.isoformat()}；审核：{last.reviewer} {last.reviewed_on.isoformat()}；"
        f"批准：{last.approver} {last.approved_on.isoformat()}",
        f"生效日期：{info.effective_date.isoformat()}",
        "",
        "修订记录中的修订说明：",
        *(f"  {line}" for line in last.note),
    ]
    if previous is not None:
        lines += ["", f"与 {previous.version} 的全部差异（opsdoc 比对，目录页不比较）：", changes]
    return "\n".join(lines) + "\n"


def _file(
    connection: Register,
    archive: Path,
    staging: Path,
    document: Document,
    docx_name: str,
    files: tuple[bytes, bytes],
    package: dict[str, tuple[str, str]],
    by: str | None,
    moment: datetime,
    acknowledged: str,
) -> Issued:
    """Inside the transaction: re-check, move into place, stamp what became 作废, commit; undo on failure."""
    info, (docx, pdf) = document.info, files
    known = register.find(connection, info.file_code, info.version)  # another issue may have won meanwhile
    if known is not None:
        connection.rollback()
        return _already(known, docx, archive)
    when = moment.astimezone().isoformat(timespec="seconds")
    folder = version_folder(info.file_code, info.version)
    target = resolve(archive, folder)
    if target.exists():
        raise IssuedVersionExists(
            target, "归档文件夹已存在但未登记：请先用 opsdoc register verify 查明，确认无用后删除或移出归档"
        )
    entry = _entry(document, f"{folder}/{docx_name}", docx, pdf, when, by, acknowledged)
    columns: dict[str, Any] = {}  # the release package
    for kind, (name, digest) in package.items():
        columns |= {f"{kind}_path": f"{folder}/{name}", f"{kind}_sha256": digest}
    entry = replace(entry, **columns)
    with all_or_nothing(connection, archive) as undo:
        try:
            register.bind(connection, info.file_code, entry.title)
        except IntegrityError:  # a spelling of a code another issue registered meanwhile
            raise IssuedVersionExists(
                None,
                f"文件编码 {info.file_code} 与刚登记的另一个文件编码只差大小写或写法，会共用归档文件夹：请使用已登记的写法",
            ) from None
        if not target.parent.exists():
            target.parent.mkdir()
            undo.append((target.parent, target.parent))  # a folder made here: removed again on failure
        os.rename(staging / "version", target)
        undo.append((target, staging / "version"))
        register.insert_entry(connection, entry)
        # only this document's 作废 copies: another document's damaged PDF must not stop this release
        voided = _void_due(connection, archive, staging, moment.date(), undo, info.file_code)
    filed = register.find(connection, info.file_code, info.version)
    out = [h.copy for h in holdings_in(connection, moment.date()) if h.to_recall and h.copy.file_code == info.file_code]
    return Issued(Outcome.ISSUED, entry=filed, superseded=voided, to_recall=out)


def _void_due(
    connection: Register,
    archive: Path,
    staging: Path,
    today: date,
    undo: list[tuple[Path, Path]],
    file_code: str | None = None,
) -> list[Entry]:
    """Inside a transaction: the 作废 copies (PDF and .docx) of every version (of `file_code`, or of all)
    that is 作废 today and lacks one, each made from the archived original only while it still has its
    registered SHA-256. (A version made 作废 by an opsdoc before the 作废 .docx gets that now.)
    """
    voided: list[Entry] = []
    versions = register.entries(connection, file_code, on=today)
    for entry in (e for e in versions if register.void_pending(e)):
        successor = register.successor(entry, versions, today)
        assert successor is not None  # 作废 means a later version is in effect
        caption = f"作废：已被 {successor.version} 替代（{successor.effective_on}），仅供查阅"
        done = entry
        if not entry.void_pdf_path:
            pdf = _void_file(
                archive,
                staging,
                entry.version,
                entry.pdf_path,
                entry.pdf_sha256,
                partial(stamp_void, caption=caption),
                undo,
            )
            register.record_void(
                connection, entry, by_version=successor.version, at=successor.effective_on, void_pdf=pdf
            )
            done = replace(done, void_pdf_path=pdf[0], void_pdf_sha256=pdf[1], superseded_by=successor.version)
        if not entry.void_docx_path:
            docx = _void_file(
                archive,
                staging,
                entry.version,
                entry.docx_path,
                entry.docx_sha256,
                partial(marked, mark=SUPERSEDED, banner=caption),
                undo,
            )
            register.record_void_docx(connection, entry, docx)
            done = replace(done, void_docx_path=docx[0], void_docx_sha256=docx[1])
        voided.append(done)
    return voided


def _void_file(
    archive: Path,
    staging: Path,
    version: str,
    relative: str,
    digest: str,
    mark: Callable[[bytes], bytes],
    undo: list[tuple[Path, Path]],
) -> tuple[str, str]:
    """The 作废 copy of one archived file, filed beside it as {name}_作废{suffix}: (its path, its SHA-256)."""
    what = f"{version} 的 {'PDF' if relative.endswith('.pdf') else '.docx'}"
    data = register.read_archived(archive, relative, digest, what, "无法生成作废副本")
    stem, dot, suffix = relative.rpartition(".")
    void_relative = f"{stem}{VOID_SUFFIX}{dot}{suffix}"
    target = resolve(archive, void_relative)
    if target.exists():
        raise IssuedVersionExists(target, "作废副本已存在但未登记：请先用 opsdoc register verify 查明原因")
    voided = mark(data)
    staged = staging / f"void-{len(undo)}.{suffix}"
    write_atomic(staged, voided)
    os.rename(staged, target)
    undo.append((target, staged))
    return void_relative, sha256(voided)


@contextmanager
def all_or_nothing(connection: Register, archive: Path) -> Iterator[list[tuple[Path, Path]]]:
    """Inside the register's transaction: the files moved into the archive, as (now at, move back to),
    stay only if the commit happens; on any failure (Ctrl-C included) they are moved back. A commit a
    server database may or may not have made (the connection cut during it) leaves them where they are:
    files the register may hold are never removed on a guess."""
    undo: list[tuple[Path, Path]] = []
    try:
        yield undo
        connection.commit()
    except BaseException as exc:
        if connection.commit_unknown:
            raise OutputError(
                archive,
                "提交登记时与登记册数据库的连接中断，无法确定是否已登记：归档中的文件保持原样，"
                "请运行 opsdoc register verify 查明（未登记的版本文件夹按其提示删除后重新发布）",
            ) from exc
        for moved, back in reversed(undo):
            if moved == back:  # a folder this release made
                moved.rmdir()
            else:
                os.rename(moved, back)
        if connection.in_transaction:
            connection.rollback()
        if isinstance(exc, OSError):
            raise _archive_error(archive, exc) from exc
        raise


def _entry(
    document: Document, docx_path: str, docx: bytes, pdf: bytes, when: str, by: str | None, acknowledged: str
) -> Entry:
    info, last = document.info, document.revisions[-1]
    return Entry(
        file_code=info.file_code,
        title=f"{info.project_name}{DOCUMENT_KIND}",
        version=info.version,
        compiled_by=last.reviser,
        compiled_on=last.revised_on.isoformat(),
        reviewed_by=last.reviewer,
        reviewed_on=last.reviewed_on.isoformat(),
        approved_by=last.approver,
        approved_on=last.approved_on.isoformat(),
        effective_on=info.effective_date.isoformat(),
        secrecy=info.secrecy,
        note="\n".join(last.note),
        docx_path=docx_path,
        docx_sha256=sha256(docx),
        pdf_path=docx_path.removesuffix(".docx") + ".pdf",
        pdf_sha256=sha256(pdf),
        void_pdf_path=None,
        void_pdf_sha256=None,
        issued_at=when,
        issued_by=by or operator(),
        superseded_at=None,
        superseded_by=None,
        acknowledged=acknowledged,
    )
