"""The act of release: file a built and verified version in the archive and record it, all or nothing.

The files are written into a staging folder inside the archive (same file system, so moving
them into place is a rename), checked there, and moved to {文件编码}/{版本号}/ only while the
register is held with BEGIN IMMEDIATE; the register row is committed last. Any failure before
the commit (a finding, an export error, a full disk, Ctrl-C) moves back what was moved and
removes the staging folder, so the archive and the register stay exactly as they were.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from opsdoc.contract.findings import Report
from opsdoc.contract.model import Document
from opsdoc.contract.vocabulary import DOCUMENT_KIND, parse_version
from opsdoc.control import register
from opsdoc.control.register import CURRENT, SUPERSEDED, Entry, UnusableRegister, open_register
from opsdoc.control.stamp import stamp_void
from opsdoc.errors import IssuedVersionExists, OutputError
from opsdoc.office.output import ensure_folder, safe_file_name, write_atomic
from opsdoc.qa.verify import verify_document
from opsdoc.workbook.reader import Workbook

STAGING_PREFIX = ".opsdoc-staging-"
VOID_SUFFIX = "_作废"


class Outcome(StrEnum):
    ISSUED = "issued"
    UNCHANGED = "unchanged"  # this version is registered with the same .docx: nothing to do
    REFUSED = "refused"  # verify found problems: nothing filed

    @property
    def label(self) -> str:
        return {"issued": "已发布并登记", "unchanged": "已登记，内容相同，未改动", "refused": "核对未通过，未发布"}[
            self.value
        ]


@dataclass
class Issued:
    outcome: Outcome
    report: Report | None = None  # verify's report of the staged document
    entry: Entry | None = None
    superseded: Entry | None = None  # the version that became 作废


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
) -> Issued:
    """File `docx` and `pdf` as the version the checked `workbook` describes, and record it in the register.

    The staged document is verified against the template and the workbook's own values.
    """
    document = workbook.document
    if document is None:
        raise ValueError("release needs a workbook that read without errors")
    info = document.info
    ensure_folder(archive)
    with open_register(archive, create=True) as connection:
        known = register.find(connection, info.file_code, info.version)
        if known is not None:
            return _already(known, docx, archive)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=archive))
        try:
            staged = staging / "version"
            staged.mkdir()
            write_atomic(staged / docx_name, docx)
            write_atomic((staged / docx_name).with_suffix(".pdf"), pdf)
            report = verify_document(staged / docx_name, template, workbook)
            if not report.passes():
                return Issued(Outcome.REFUSED, report)
            connection.execute("BEGIN IMMEDIATE")  # from here on, concurrent issues wait for this one
            try:
                issued = _file(connection, archive, staging, document, docx_name, docx, pdf, by, now)
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            issued.report = report
            return issued
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _already(known: Entry, docx: bytes, archive: Path) -> Issued:
    """A version the register holds: unchanged only if it is in force, the same, and intact in the archive."""
    archived = archive / known.docx_path
    if known.status == SUPERSEDED:
        raise IssuedVersionExists(
            archived,
            f"{known.version} 已作废（{(known.superseded_at or '')[:10]} 被 {known.superseded_by} 替代），"
            "不能再次发布：请提升版本号",
        )
    if known.docx_sha256 != sha256(docx):
        raise IssuedVersionExists(
            archived, f"{known.version} 已于 {known.issued_at} 发布且内容不同：请提升版本号后再发布"
        )
    try:
        intact = sha256(archived.read_bytes()) == known.docx_sha256
    except OSError as exc:
        raise UnusableRegister(
            archived, f"已登记的归档文件无法读取（{exc.strerror}）：请用 opsdoc register verify 查明"
        ) from None
    if not intact:
        raise UnusableRegister(
            archived, "已登记的归档文件被改动过（SHA-256 与登记册不符）：请用 opsdoc register verify 查明并从备份恢复"
        )
    return Issued(Outcome.UNCHANGED, entry=known)


def _file(
    connection: sqlite3.Connection,
    archive: Path,
    staging: Path,
    document: Document,
    docx_name: str,
    docx: bytes,
    pdf: bytes,
    by: str | None,
    now: datetime | None,
) -> Issued:
    """Inside the transaction: re-check, stamp the superseded PDF, move into place, commit; undo on failure."""
    info = document.info
    known = register.find(connection, info.file_code, info.version)  # another issue may have won meanwhile
    if known is not None:
        connection.execute("ROLLBACK")
        return _already(known, docx, archive)
    previous = register.current(connection, info.file_code)
    if previous is not None and (parse_version(previous.version) or (0, 0)) > (parse_version(info.version) or (0, 0)):
        raise IssuedVersionExists(
            archive / previous.docx_path, f"现行版本 {previous.version} 高于 {info.version}：不能发布更早的版本"
        )
    when = (now or datetime.now()).astimezone().isoformat(timespec="seconds")
    folder_code, folder_version = safe_file_name(info.file_code), safe_file_name(info.version)
    target = archive / folder_code / folder_version
    if target.exists():
        raise IssuedVersionExists(target, "归档文件夹已存在但未登记：请先用 opsdoc register verify 查明原因")
    relative = f"{folder_code}/{folder_version}/{docx_name}"
    entry = _entry(document, relative, docx, pdf, when, by)

    undo: list[tuple[Path, Path]] = []  # (now at, move back to)
    try:
        void: tuple[str, str] | None = None
        if previous is not None:
            original = archive / previous.pdf_path
            caption = f"作废：已被 {info.version} 替代（{when[:10]}），仅供查阅"
            stamped = stamp_void(original.read_bytes(), caption)
            void_path = original.with_name(original.stem + VOID_SUFFIX + ".pdf")
            write_atomic(staging / "void.pdf", stamped)
            void = (void_path.relative_to(archive).as_posix(), sha256(stamped))
        ensure_folder(target.parent)
        os.rename(staging / "version", target)
        undo.append((target, staging / "version"))
        if previous is not None and void is not None:
            if (archive / void[0]).exists():
                raise IssuedVersionExists(
                    archive / void[0], "作废副本已存在但未登记：请先用 opsdoc register verify 查明原因"
                )
            os.rename(staging / "void.pdf", archive / void[0])
            undo.append((archive / void[0], staging / "void.pdf"))
            register.supersede(connection, previous, by_version=info.version, at=when, void_pdf=void)
        register.insert(connection, entry)
        connection.execute("COMMIT")
    except BaseException as exc:
        for moved, back in reversed(undo):
            os.rename(moved, back)
        if isinstance(exc, OSError):
            raise OutputError(archive, f"无法写入归档（{exc.strerror or exc}），未发布任何内容") from exc
        raise
    return Issued(Outcome.ISSUED, entry=entry, superseded=previous)


def _entry(document: Document, docx_path: str, docx: bytes, pdf: bytes, when: str, by: str | None) -> Entry:
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
        status=CURRENT,
        note="\n".join(last.note),
        docx_path=docx_path,
        docx_sha256=sha256(docx),
        pdf_path=docx_path.removesuffix(".docx") + ".pdf",
        pdf_sha256=sha256(pdf),
        void_pdf_path=None,
        void_pdf_sha256=None,
        issued_at=when,
        issued_by=by or _os_user(),
        superseded_at=None,
        superseded_by=None,
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): the uid is still a who
        return f"uid {os.getuid()}"
