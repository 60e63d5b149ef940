"""The register of issued versions (受控文件清单): what it holds and how it is read and written.

Its database (an SQLite file in the archive folder, or PostgreSQL) is opsdoc.control.database's;
here are the versions, their statuses read from the dates, and the queries every command shares.

Besides the issued versions, the register keeps what ISO 9001 7.5.3.2 asks of their life after
release: the copies handed out and recalled (`copies`), the periodic reviews (`reviews`) and
the disposal of a 作废 version once its retention has run out.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import os
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Integer, cast, func, insert, select, update

from opsdoc.contract.findings import Finding, Report, finding
from opsdoc.contract.vocabulary import CURRENT, PENDING_EFFECT, SUPERSEDED, WITHDRAWN, parse_version
from opsdoc.control import database
from opsdoc.control.archive import (
    DISPOSING,
    STAGING_PREFIX,
    UnsafeArchivePath,
    collision_key,
    contents,
    read_regular,
    resolve,
)
from opsdoc.control.database import REGISTER_NAME, Register, UnusableRegister, open_register
from opsdoc.errors import OutputError

__all__ = ["REGISTER_NAME", "Register", "UnusableRegister", "open_register"]


@dataclass(frozen=True)
class Entry:
    """One issued version; paths are relative to the archive folder, with forward slashes.

    `status` is not stored: it is read from the dates of all versions of the code (see lifecycle).
    """

    file_code: str
    title: str
    version: str
    compiled_by: str
    compiled_on: str
    reviewed_by: str
    reviewed_on: str
    approved_by: str
    approved_on: str  # also the cover's 发布日期: the version's release date
    effective_on: str
    secrecy: str
    note: str
    docx_path: str
    docx_sha256: str
    pdf_path: str
    pdf_sha256: str
    void_pdf_path: str | None
    void_pdf_sha256: str | None
    issued_at: str  # when it was filed (登记时间)
    issued_by: str
    superseded_at: str | None  # the 生效日期 of the version that replaced it: the day it became 作废
    superseded_by: str | None  # that version
    withdrawn_at: str | None = None  # 撤销 before it took effect
    withdrawn_by: str | None = None
    acknowledged: str = ""  # what the 文控 acknowledged at issue (a backdated 生效日期, a rename)
    void_docx_path: str | None = None  # the archived .docx marked 作废 (layout 3 on)
    void_docx_sha256: str | None = None
    redline_path: str | None = None  # the release package: the 对比稿 against the version before
    redline_sha256: str | None = None
    notes_path: str | None = None  # and its 修订说明
    notes_sha256: str | None = None
    disposed_at: str | None = None  # 销毁/处置 after the retention ran out; the row stays
    disposed_by: str | None = None
    files_removed: int = 0  # the disposal removed the files (opsdoc.toml's dispose_files = "remove")
    status: str = ""  # 待生效, 现行, 作废 or 撤销 on the day asked (entries)

    def files(self) -> list[tuple[str, str]]:
        """(path, sha256) of every file of this version the archive holds."""
        if self.files_removed:
            return []
        pairs = [
            (self.docx_path, self.docx_sha256),
            (self.pdf_path, self.pdf_sha256),
            (self.void_pdf_path, self.void_pdf_sha256),
            (self.void_docx_path, self.void_docx_sha256),
            (self.redline_path, self.redline_sha256),
            (self.notes_path, self.notes_sha256),
        ]
        return [(path, digest) for path, digest in pairs if path and digest]


COLUMNS = [f.name for f in fields(Entry) if f.name != "status"]


@dataclass(frozen=True)
class Copy:
    """A copy handed out: a controlled one has its 分发号, a 非受控 (仅供参考) one has none."""

    id: int
    file_code: str
    version: str
    number: str | None
    holder: str  # 接收人
    department: str
    count: int  # 份数
    distributed_on: str
    distributed_by: str
    pdf_name: str  # the copy's PDF, as handed out (it is not kept in the archive)
    pdf_sha256: str
    recalled_on: str | None = None
    recalled_by: str | None = None

    @property
    def controlled(self) -> bool:
        return self.number is not None


COPY_COLUMNS = [f.name for f in fields(Copy)]


@dataclass(frozen=True)
class Review:
    """A periodic review (定期评审) that found the version still fit: its review clock starts again."""

    file_code: str
    version: str
    reviewed_on: str
    reviewed_by: str
    conclusion: str


REVIEW_COLUMNS = [f.name for f in fields(Review)]


def lifecycle(versions: list[Entry], on: date) -> dict[str, str]:
    """The status of each version of one code on a day, from the dates alone.

    撤销 once withdrawn; 待生效 until its 生效日期; of the versions in effect, the highest is
    现行 and the rest 作废. So V2.0 stays 现行 until V2.1's 生效日期, and becomes 作废 that day.
    """
    day = on.isoformat()
    statuses: dict[str, str] = {}
    in_effect: list[Entry] = []
    for entry in versions:
        if entry.withdrawn_at and entry.withdrawn_at[:10] <= day:
            statuses[entry.version] = WITHDRAWN
        elif entry.effective_on > day:
            statuses[entry.version] = PENDING_EFFECT
        else:
            in_effect.append(entry)
    in_effect.sort(key=lambda e: parse_version(e.version) or (0, 0))
    for entry in in_effect:
        statuses[entry.version] = CURRENT if entry is in_effect[-1] else SUPERSEDED
    return statuses


def read_archived(archive: Path, relative: str, digest: str, what: str, refused: str) -> bytes:
    """A registered file's bytes, only while it still has its registered SHA-256: the one way a release, a
    copy, a 作废 stamp or a download reads the archive. `what` names the file, `refused` says what is not done."""
    path = resolve(archive, relative)
    try:
        data = read_regular(path)
    except FileNotFoundError:
        raise OutputError(path, f"{what} 不在归档中，{refused}：请从备份恢复") from None
    except OSError as exc:
        raise UnusableRegister(
            path, f"{what} 无法读取（{exc.strerror}），{refused}：请用 opsdoc register verify 查明"
        ) from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise UnusableRegister(path, f"{what} 被改动过（SHA-256 与登记册不符），{refused}：请从备份恢复")
    return data


def void_pending(entry: Entry) -> bool:
    """A 作废 version still lacking a 作废 copy (PDF or .docx) while its files are kept."""
    return entry.status == SUPERSEDED and not entry.files_removed and not (entry.void_pdf_path and entry.void_docx_path)


def register_path(archive: Path) -> Path:
    """The SQLite register's file (whether or not the register is there, or on a server)."""
    return archive / REGISTER_NAME


def entries(connection: Register, file_code: str | None = None, on: date | None = None) -> list[Entry]:
    """Issued versions, newest first (by issue time, then by entry order), each with its status on `on`
    (today). For a day in the past, the register as it stood that day: versions filed later are left out."""
    issued = database.issued.c
    query = select(*(issued[name] for name in COLUMNS)).order_by(issued.issued_at.desc(), issued.id.desc())
    if file_code:
        query = query.where(issued.file_code == file_code)
    found = [Entry(*row) for row in connection.execute(query)]
    if on is not None and on < date.today():
        found = [e for e in found if e.issued_at[:10] <= on.isoformat()]
    by_code: dict[str, list[Entry]] = {}
    for entry in found:
        by_code.setdefault(entry.file_code, []).append(entry)
    day = on or date.today()
    statuses = {code: lifecycle(versions, day) for code, versions in by_code.items()}
    shown = []
    for entry in found:
        status = statuses[entry.file_code][entry.version]
        replaced = successor(entry, by_code[entry.file_code], day) if status == SUPERSEDED else None
        if replaced is not None and not entry.superseded_by:  # 作废 before its copy is made: said from the dates
            entry = dataclasses.replace(entry, superseded_by=replaced.version, superseded_at=replaced.effective_on)
        shown.append(dataclasses.replace(entry, status=status))
    return shown


def successor(entry: Entry, versions: list[Entry], on: date) -> Entry | None:
    """The version that replaced `entry` by `on`: the lowest of its code above it in effect then."""
    rank, day = parse_version(entry.version) or (0, 0), on.isoformat()
    later = [
        v
        for v in versions
        if v.file_code == entry.file_code
        and (parse_version(v.version) or (0, 0)) > rank
        and v.effective_on <= day
        and not (v.withdrawn_at and v.withdrawn_at[:10] <= day)
    ]
    return min(later, key=lambda v: parse_version(v.version) or (0, 0), default=None)


def find(connection: Register, file_code: str, version: str, on: date | None = None) -> Entry | None:
    """One version, with its status on `on` (today)."""
    return next((e for e in entries(connection, file_code, on=on) if e.version == version), None)


def registered(connection: Register, archive: Path, file_code: str, version: str, on: date | None = None) -> Entry:
    """One version the command was asked about; refused when the register does not hold it."""
    entry = find(connection, file_code, version, on)
    if entry is None:
        raise UnusableRegister(archive, f"登记册中没有 {file_code} {version}")
    return entry


def bound_title(connection: Register, file_code: str) -> str | None:
    """The 文件名称 the code is bound to; None for a code never issued."""
    documents = database.documents.c
    title: str | None = connection.execute(select(documents.title).where(documents.file_code == file_code)).scalar()
    return title


def code_sharing_folder(connection: Register, file_code: str) -> str | None:
    """Another registered code whose archive folder this one's would be (by case or spelling)."""
    documents = database.documents.c
    other: str | None = connection.execute(
        select(documents.file_code).where(
            documents.collision_key == collision_key(file_code), documents.file_code != file_code
        )
    ).scalar()
    return other


def bind(connection: Register, file_code: str, title: str) -> None:
    """Bind a new code to its title, or record a rename of a bound one (the caller decided it may; it
    holds the writers' lock, so the code cannot be bound meanwhile)."""
    documents = database.documents
    if bound_title(connection, file_code) is None:
        connection.execute(
            insert(documents).values(file_code=file_code, collision_key=collision_key(file_code), title=title)
        )
    else:
        connection.execute(update(documents).where(documents.c.file_code == file_code).values(title=title))


def insert_entry(connection: Register, entry: Entry) -> None:
    connection.execute(insert(database.issued).values({name: getattr(entry, name) for name in COLUMNS}))


def _update_version(connection: Register, entry: Entry, **values: object) -> None:
    issued = database.issued
    connection.execute(
        update(issued).where(issued.c.file_code == entry.file_code, issued.c.version == entry.version).values(**values)
    )


def record_void(connection: Register, entry: Entry, *, by_version: str, at: str, void_pdf: tuple[str, str]) -> None:
    """The 作废 copy of `entry`, replaced by `by_version`, in effect from `at` (its 生效日期)."""
    _update_version(
        connection,
        entry,
        superseded_at=at,
        superseded_by=by_version,
        void_pdf_path=void_pdf[0],
        void_pdf_sha256=void_pdf[1],
    )


def withdraw(connection: Register, entry: Entry, *, at: str, by: str) -> None:
    _update_version(connection, entry, withdrawn_at=at, withdrawn_by=by)


def record_void_docx(connection: Register, entry: Entry, void_docx: tuple[str, str]) -> None:
    _update_version(connection, entry, void_docx_path=void_docx[0], void_docx_sha256=void_docx[1])


def dispose(connection: Register, entry: Entry, *, at: str, by: str, files_removed: bool) -> None:
    _update_version(connection, entry, disposed_at=at, disposed_by=by, files_removed=int(files_removed))


def copies(connection: Register, file_code: str | None = None, version: str | None = None) -> list[Copy]:
    """Copies handed out, in the order they were (of one code, or one version of it)."""
    table = database.copies.c
    query = select(*(table[name] for name in COPY_COLUMNS)).order_by(table.id)
    if file_code is not None:
        query = query.where(table.file_code == file_code)
        if version is not None:
            query = query.where(table.version == version)
    return [Copy(*row) for row in connection.execute(query)]


def next_copy_number(connection: Register, file_code: str, version: str) -> str:
    """The next 分发号 of a version: 001, 002, … in the order copies are handed out."""
    table = database.copies.c
    highest = connection.execute(
        select(func.max(cast(table.number, Integer))).where(
            table.file_code == file_code, table.version == version, table.number.is_not(None)
        )
    ).scalar()
    return f"{(highest or 0) + 1:03d}"


def add_copy(connection: Register, copy: Copy) -> Copy:
    """Record a copy; its id is the register's."""
    values = {name: getattr(copy, name) for name in COPY_COLUMNS if name != "id"}
    result = connection.execute(insert(database.copies).values(values))
    return dataclasses.replace(copy, id=int(result.inserted_primary_key[0]))


def recall(connection: Register, copy: Copy, *, on: str, by: str) -> None:
    table = database.copies
    connection.execute(update(table).where(table.c.id == copy.id).values(recalled_on=on, recalled_by=by))


def reviews(connection: Register, file_code: str | None = None) -> list[Review]:
    """Periodic reviews recorded, oldest first."""
    table = database.reviews.c
    query = select(*(table[name] for name in REVIEW_COLUMNS)).order_by(table.reviewed_on, table.id)
    if file_code:
        query = query.where(table.file_code == file_code)
    return [Review(*row) for row in connection.execute(query)]


def add_review(connection: Register, review: Review) -> None:
    connection.execute(insert(database.reviews).values({name: getattr(review, name) for name in REVIEW_COLUMNS}))


def verify_archive(archive: Path, today: date | None = None) -> Report:
    """Re-hash every registered file, and report every state of the archive that is not what
    issue left, or that would stop the next issue: each finding says what clears it.

    Only the register itself and its journal are not files of the archive. No link is followed.
    """
    findings: list[Finding] = []
    with open_register(archive) as connection:
        versions = entries(connection, on=today)
    registered: dict[str, str] = {}
    for entry in versions:
        registered.update(entry.files())
        findings += _inconsistent(entry)
        if void_pending(entry):
            missing = "、".join(
                what for what, path in (("PDF", entry.void_pdf_path), (".docx", entry.void_docx_path)) if not path
            )
            findings.append(
                finding(
                    "archive-void-pending",
                    None,
                    f"{entry.file_code} {entry.version} 已作废，作废副本（{missing}）尚未生成：运行 opsdoc register sync",
                )
            )
    for relative, digest in sorted(registered.items()):
        try:
            path = resolve(archive, relative)
        except UnsafeArchivePath as exc:
            findings.append(finding("archive-unsafe-path", None, f"{relative}：{exc.message}；请从备份恢复登记册"))
            continue
        if not path.is_file() or path.is_symlink():
            there = os.path.lexists(path)
            why = "不是普通文件（文件夹、管道或设备）" if there else "登记册中有此文件，归档中不存在"
            findings.append(finding("archive-missing-file", None, f"{relative}：{why}"))
            continue
        try:
            altered = _sha256_of(path) != digest
        except OSError as exc:
            findings.append(finding("archive-missing-file", None, f"{relative}：无法读取（{exc.strerror}）"))
            continue
        if altered:
            findings.append(
                finding("archive-altered-file", None, f"{relative}：内容与登记时不同（SHA-256 不符），文件已被改动")
            )
    version_folders = {relative.rsplit("/", 1)[0] for relative in registered}
    own = {REGISTER_NAME, REGISTER_NAME + "-journal"}
    for relative, kind in contents(archive):
        name = relative.rsplit("/", 1)[-1]
        if kind == "link":
            findings.append(
                finding("archive-symlink", None, f"{relative}：归档中不应有符号链接，请换成真实的文件或文件夹")
            )
        elif kind == "folder" and name.startswith(STAGING_PREFIX + DISPOSING):
            back = name.removeprefix(STAGING_PREFIX + DISPOSING)
            findings.append(
                finding(
                    "archive-staging-left",
                    None,
                    f"{relative}：中断的处置留下的版本文件夹（文件仍在其中）：若此刻没有正在进行的处置，"
                    f"请把它改回原名 {back}，再重新处置",
                )
            )
        elif kind == "folder" and name.startswith(STAGING_PREFIX):
            findings.append(
                finding(
                    "archive-staging-left",
                    None,
                    f"{relative}：发布用的暂存文件夹：若此刻没有正在进行的发布，它是中断的发布留下的，请删除",
                )
            )
        elif kind == "folder" and relative.count("/") == 1 and relative not in version_folders:
            findings.append(
                finding(
                    "archive-unregistered-folder",
                    None,
                    f"{relative}：登记册中没有这个版本文件夹，它会阻止该版本发布：确认无用后删除或移出归档",
                )
            )
        elif kind != "folder" and relative not in registered and relative not in own:
            what = "文件" if kind == "file" else "特殊文件（管道或设备）"
            findings.append(finding("archive-unregistered-file", None, f"{relative}：登记册中没有这个{what}"))
    return Report(str(archive), findings)


_DATES = ("compiled_on", "reviewed_on", "approved_on", "effective_on")
_TIMES = ("issued_at", "withdrawn_at", "superseded_at")


def _inconsistent(entry: Entry) -> list[Finding]:
    """A row no opsdoc writes: a date not in ISO form, a withdrawal after the version took effect,
    a 作废 copy of a version in force. The register was changed by hand; its statuses cannot be trusted."""
    problems = []
    for name in _DATES + _TIMES:
        value = getattr(entry, name)
        if value is None and name in _TIMES[1:]:
            continue
        try:
            (date.fromisoformat if name in _DATES else datetime.fromisoformat)(value)
        except (TypeError, ValueError):
            problems.append(f"{name}「{value}」不是 ISO 格式的日期")
    if entry.withdrawn_at and entry.withdrawn_at[:10] > entry.effective_on:
        problems.append(f"撤销于 {entry.withdrawn_at[:10]}，晚于生效日期 {entry.effective_on}")
    if entry.void_pdf_path and entry.status != SUPERSEDED:
        problems.append(f"有作废副本，但今天的状态是{entry.status}")
    return [
        finding(
            "register-inconsistent",
            None,
            f"{entry.file_code} {entry.version}：{problem}；登记册被手工改动过，请从备份恢复",
        )
        for problem in problems
    ]


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def operator() -> str:
    """Who is at the keyboard, when no name is given: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): the uid is still a who
        return f"uid {os.getuid()}"
