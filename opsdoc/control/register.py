"""The register of issued versions (受控文件清单): an SQLite file in the archive folder.

SQLite needs no server, and its transactions give what document control asks for: a version
is recorded whole or not at all, and `BEGIN IMMEDIATE` makes concurrent issues take turns.
The rollback journal (not WAL) is used because archives live on shared folders, where WAL's
shared memory does not work. The file says what it is through `PRAGMA application_id`; its
layout through `PRAGMA user_version`. A register of an earlier layout is migrated when it is
opened, one step per layout, each in one transaction (the standard library's sqlite3 is the
whole migration machinery: one embedded file, steps keyed by user_version, nothing to install).

Besides the issued versions, the register keeps what ISO 9001 7.5.3.2 asks of their life after
release: the copies handed out and recalled (`copies`), the periodic reviews (`reviews`) and
the disposal of a 作废 version once its retention has run out.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path

from opsdoc.contract.findings import Finding, Report, finding
from opsdoc.contract.vocabulary import CURRENT, PENDING_EFFECT, SUPERSEDED, WITHDRAWN, parse_version
from opsdoc.control.archive import (
    DISPOSING,
    STAGING_PREFIX,
    UnsafeArchivePath,
    collision_key,
    contents,
    read_regular,
    resolve,
)
from opsdoc.errors import OpsdocError, OutputError

REGISTER_NAME = "受控文件清单.sqlite"
APPLICATION_ID = 0x4F505344  # "OPSD": this file is an opsdoc register
SCHEMA_VERSION = 3
BUSY_SECONDS = 120  # another issue holds the register while it files its version

# The version columns of layout 1 that layout 2 keeps (it drops the stored status, which is now
# read from the dates), and what layout 2 adds.
_ISSUED_COLUMNS = """
    file_code TEXT NOT NULL REFERENCES documents (file_code),
    title TEXT NOT NULL,
    version TEXT NOT NULL,
    compiled_by TEXT NOT NULL,
    compiled_on TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_on TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_on TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    secrecy TEXT NOT NULL,
    note TEXT NOT NULL,
    docx_path TEXT NOT NULL,
    docx_sha256 TEXT NOT NULL,
    pdf_path TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    void_pdf_path TEXT,
    void_pdf_sha256 TEXT,
    issued_at TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    superseded_at TEXT,
    superseded_by TEXT"""
# What layout 3 adds to each version: the 作废 .docx, the release package (对比稿 and 修订说明),
# and its disposal.
_ADDED_3 = """
    void_docx_path TEXT,
    void_docx_sha256 TEXT,
    redline_path TEXT,
    redline_sha256 TEXT,
    notes_path TEXT,
    notes_sha256 TEXT,
    disposed_at TEXT,
    disposed_by TEXT,
    files_removed INTEGER NOT NULL DEFAULT 0"""
# Tables layout 3 adds: copies handed out (分发号 NULL for a 非受控 copy) and periodic reviews.
_TABLES_3 = """
CREATE TABLE copies (
    id INTEGER PRIMARY KEY,
    file_code TEXT NOT NULL,
    version TEXT NOT NULL,
    number TEXT,
    holder TEXT NOT NULL,
    department TEXT NOT NULL,
    count INTEGER NOT NULL,
    distributed_on TEXT NOT NULL,
    distributed_by TEXT NOT NULL,
    pdf_name TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    recalled_on TEXT,
    recalled_by TEXT,
    UNIQUE (file_code, version, number),
    FOREIGN KEY (file_code, version) REFERENCES issued (file_code, version)
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    file_code TEXT NOT NULL,
    version TEXT NOT NULL,
    reviewed_on TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    conclusion TEXT NOT NULL,
    FOREIGN KEY (file_code, version) REFERENCES issued (file_code, version)
)"""
SCHEMA = f"""
-- Each 文件编码 is bound to one document (its 文件名称) and one archive folder: another title under
-- the code is a deliberate rename, and a code whose folder another code's would be is refused.
CREATE TABLE documents (
    file_code TEXT PRIMARY KEY,
    collision_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL
);
CREATE TABLE issued (
    id INTEGER PRIMARY KEY,{_ISSUED_COLUMNS},
    withdrawn_at TEXT,
    withdrawn_by TEXT,
    acknowledged TEXT NOT NULL DEFAULT '',{_ADDED_3},
    UNIQUE (file_code, version)
);{_TABLES_3}
"""


class UnusableRegister(OpsdocError):
    """Raised when the register file is not an opsdoc register, is damaged or is from a newer opsdoc."""


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
_LAYOUT_1 = COLUMNS[: COLUMNS.index("withdrawn_at")]  # what a layout-1 row holds


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
    return archive / REGISTER_NAME


@contextmanager
def open_register(archive: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the archive's register, checked to be one; created (empty) when asked.

    Without `create`, a missing register is an error: reading never leaves a file behind.
    """
    path = register_path(archive)
    if archive.exists() and not archive.is_dir():
        raise UnusableRegister(archive, "不是文件夹：--archive 应是归档文件夹")
    for own in (path, path.with_name(path.name + "-journal")):
        _regular_or_absent(own)
    if not path.is_file() and not create:
        raise UnusableRegister(path, "登记册不存在：该文件夹还没有发布过任何版本（opsdoc issue 会创建它）")
    try:
        # isolation_level=None: transactions are opened explicitly with BEGIN IMMEDIATE.
        connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from None
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("PRAGMA synchronous=FULL")
        _check_or_create(connection, path)
        yield connection
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from None
    finally:
        connection.close()


def _regular_or_absent(path: Path) -> None:
    """The register and its journal are opsdoc's own files: never a link (SQLite would write through
    it, outside the archive), a folder or a pipe."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnusableRegister(path, f"无法检查登记册（{exc.strerror}）") from None
    if not stat.S_ISREG(mode):
        kind = "符号链接" if stat.S_ISLNK(mode) else "文件夹" if stat.S_ISDIR(mode) else "管道、设备等特殊文件"
        raise UnusableRegister(path, f"是{kind}，不是登记册文件：未读写任何内容，请查明后把它移出归档")


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> OpsdocError:
    """The real cause of a register failure, in the user's words: a full disk is not a damaged register."""
    text = str(exc).lower()
    if "disk is full" in text:
        return OutputError(path, f"磁盘已满（{exc}），登记册未改动：请腾出空间后重试")
    if "disk i/o" in text:
        return OutputError(path, f"读写登记册时出错（{exc}），登记册未改动：请检查磁盘或共享文件夹的连接")
    if "readonly" in text or "read-only" in text:
        return OutputError(path, f"登记册或归档文件夹只读（{exc}），未作任何改动：请检查文件夹权限")
    if "unable to open" in text:
        return OutputError(path, f"无法打开登记册（{exc}）：请检查归档文件夹是否存在、是否可写")
    if "locked" in text or "busy" in text:
        return OutputError(path, f"登记册正被其他发布占用（{exc}），请稍后重试")
    return UnusableRegister(path, f"不是 opsdoc 登记册或已损坏（{exc}），未作任何改动；请从备份恢复")


def _check_or_create(connection: sqlite3.Connection, path: Path) -> None:
    """Create the schema in a new, empty file; refuse any file that is not an opsdoc register."""
    application = connection.execute("PRAGMA application_id").fetchone()[0]
    if application == APPLICATION_ID:
        _check_version(connection, path)
        return
    connection.execute("BEGIN IMMEDIATE")  # two first issues racing: one creates, the other sees it
    try:
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application == 0 and tables == 0:
            # execute, not executescript: executescript would commit the open transaction first.
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute("COMMIT")
            return
        connection.execute("ROLLBACK")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    if application != APPLICATION_ID:
        raise UnusableRegister(path, "这个 SQLite 文件不是 opsdoc 登记册，未作任何改动")
    _check_version(connection, path)


def _check_version(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UnusableRegister(path, f"登记册由更新版本的 opsdoc 创建（格式 {version}），请升级 opsdoc")
    problem = connection.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise UnusableRegister(path, f"登记册已损坏（{problem}），未作任何改动；请从备份恢复")
    if version == 1:
        _migrate_from_1(connection, path)
    elif version == 2:
        try:
            _migrate_from_2(connection)
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc).lower():
                raise
            _read_layout_2(connection)
    elif version != SCHEMA_VERSION:
        raise UnusableRegister(path, f"登记册格式 {version} 无法识别")


def _migrate_from_2(connection: sqlite3.Connection) -> None:
    """Layout 2 → 3, in one transaction: the new columns of each version (empty: nothing of the
    kind was filed then) and the tables of copies and reviews. Every row is kept as it was."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("PRAGMA user_version").fetchone()[0] != 2:  # another process migrated it meanwhile
            connection.execute("ROLLBACK")
            return
        for column in _ADDED_3.strip().split(",\n"):
            connection.execute(f"ALTER TABLE issued ADD COLUMN {column.strip()}")
        for statement in _TABLES_3.split(";"):
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _read_layout_2(connection: sqlite3.Connection) -> None:
    """A layout-2 register this user may only read (an auditor on a read-only share): shown as layout 3
    through temporary views and tables (SQLite looks in `temp` first), nothing written to the file.
    The first 文控 who opens it with write access migrates it."""
    added = ", ".join(
        f"{'0' if column.split()[0] == 'files_removed' else 'NULL'} AS {column.split()[0]}"
        for column in _ADDED_3.strip().split(",\n")
    )
    connection.execute(f"CREATE TEMP VIEW issued AS SELECT *, {added} FROM main.issued")
    for statement in _TABLES_3.split(";"):  # a temporary table cannot refer to the file's tables
        statement = re.sub(r",\s*FOREIGN KEY[^\n]*", "", statement)
        connection.execute(statement.replace("CREATE TABLE", "CREATE TEMP TABLE"))


def _migrate_from_1(connection: sqlite3.Connection, path: Path) -> None:
    """Layout 1 → 3, in one transaction: each code bound to the title of its latest version, the
    stored 现行/作废 dropped (read from the dates now), the withdrawal and acknowledgement columns added."""
    kept = _LAYOUT_1
    connection.execute("BEGIN IMMEDIATE")
    try:
        if connection.execute("PRAGMA user_version").fetchone()[0] != 1:  # another process migrated it meanwhile
            connection.execute("ROLLBACK")
            return
        latest = connection.execute(
            "SELECT file_code, title FROM issued AS a WHERE id = (SELECT id FROM issued AS b"
            " WHERE b.file_code = a.file_code ORDER BY issued_at DESC, id DESC LIMIT 1)"
        ).fetchall()
        connection.execute("ALTER TABLE issued RENAME TO issued_1")
        connection.execute("DROP INDEX IF EXISTS one_current_version")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        for file_code, title in latest:
            connection.execute(
                "INSERT INTO documents (file_code, collision_key, title) VALUES (?, ?, ?)",
                (file_code, collision_key(file_code), title),
            )
        names = ", ".join(kept)
        connection.execute(f"INSERT INTO issued (id, {names}) SELECT id, {names} FROM issued_1")
        connection.execute("DROP TABLE issued_1")
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if isinstance(exc, sqlite3.IntegrityError):
            keys: dict[str, list[str]] = {}
            for code, _title in latest:
                keys.setdefault(collision_key(code), []).append(code)
            clash = next((codes for codes in keys.values() if len(codes) > 1), [])
            raise UnusableRegister(
                path, f"登记册无法升级到新格式：文件编码 {' 与 '.join(clash)} 只差大小写或写法，会共用归档文件夹"
            ) from None
        raise


def entries(connection: sqlite3.Connection, file_code: str | None = None, on: date | None = None) -> list[Entry]:
    """Issued versions, newest first (by issue time, then by entry order), each with its status on `on`
    (today). For a day in the past, the register as it stood that day: versions filed later are left out."""
    where, arguments = ("WHERE file_code = ?", (file_code,)) if file_code else ("", ())
    rows = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM issued {where} ORDER BY issued_at DESC, id DESC", arguments
    )
    found = [Entry(*row) for row in rows]
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


def find(connection: sqlite3.Connection, file_code: str, version: str, on: date | None = None) -> Entry | None:
    """One version, with its status on `on` (today)."""
    return next((e for e in entries(connection, file_code, on=on) if e.version == version), None)


def registered(
    connection: sqlite3.Connection, archive: Path, file_code: str, version: str, on: date | None = None
) -> Entry:
    """One version the command was asked about; refused when the register does not hold it."""
    entry = find(connection, file_code, version, on)
    if entry is None:
        raise UnusableRegister(archive, f"登记册中没有 {file_code} {version}")
    return entry


def bound_title(connection: sqlite3.Connection, file_code: str) -> str | None:
    """The 文件名称 the code is bound to; None for a code never issued."""
    row = connection.execute("SELECT title FROM documents WHERE file_code = ?", (file_code,)).fetchone()
    return str(row[0]) if row else None


def code_sharing_folder(connection: sqlite3.Connection, file_code: str) -> str | None:
    """Another registered code whose archive folder this one's would be (by case or spelling)."""
    row = connection.execute(
        "SELECT file_code FROM documents WHERE collision_key = ? AND file_code != ?",
        (collision_key(file_code), file_code),
    ).fetchone()
    return str(row[0]) if row else None


def bind(connection: sqlite3.Connection, file_code: str, title: str) -> None:
    """Bind a new code to its title, or record a rename of a bound one (the caller decided it may)."""
    connection.execute(
        "INSERT INTO documents (file_code, collision_key, title) VALUES (?, ?, ?)"
        " ON CONFLICT (file_code) DO UPDATE SET title = excluded.title",
        (file_code, collision_key(file_code), title),
    )


def insert(connection: sqlite3.Connection, entry: Entry) -> None:
    connection.execute(
        f"INSERT INTO issued ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
        [getattr(entry, name) for name in COLUMNS],
    )


def record_void(
    connection: sqlite3.Connection, entry: Entry, *, by_version: str, at: str, void_pdf: tuple[str, str]
) -> None:
    """The 作废 copy of `entry`, replaced by `by_version`, in effect from `at` (its 生效日期)."""
    connection.execute(
        "UPDATE issued SET superseded_at = ?, superseded_by = ?, void_pdf_path = ?, void_pdf_sha256 = ?"
        " WHERE file_code = ? AND version = ?",
        (at, by_version, *void_pdf, entry.file_code, entry.version),
    )


def withdraw(connection: sqlite3.Connection, entry: Entry, *, at: str, by: str) -> None:
    connection.execute(
        "UPDATE issued SET withdrawn_at = ?, withdrawn_by = ? WHERE file_code = ? AND version = ?",
        (at, by, entry.file_code, entry.version),
    )


def record_void_docx(connection: sqlite3.Connection, entry: Entry, void_docx: tuple[str, str]) -> None:
    connection.execute(
        "UPDATE issued SET void_docx_path = ?, void_docx_sha256 = ? WHERE file_code = ? AND version = ?",
        (*void_docx, entry.file_code, entry.version),
    )


def dispose(connection: sqlite3.Connection, entry: Entry, *, at: str, by: str, files_removed: bool) -> None:
    connection.execute(
        "UPDATE issued SET disposed_at = ?, disposed_by = ?, files_removed = ? WHERE file_code = ? AND version = ?",
        (at, by, int(files_removed), entry.file_code, entry.version),
    )


def copies(connection: sqlite3.Connection, file_code: str | None = None, version: str | None = None) -> list[Copy]:
    """Copies handed out, in the order they were (of one code, or one version of it)."""
    where, arguments = "", []
    if file_code is not None:
        where, arguments = "WHERE file_code = ?", [file_code]
        if version is not None:
            where, arguments = where + " AND version = ?", [file_code, version]
    rows = connection.execute(f"SELECT {', '.join(COPY_COLUMNS)} FROM copies {where} ORDER BY id", arguments)
    return [Copy(*row) for row in rows]


def next_copy_number(connection: sqlite3.Connection, file_code: str, version: str) -> str:
    """The next 分发号 of a version: 001, 002, … in the order copies are handed out."""
    row = connection.execute(
        "SELECT max(CAST(number AS INTEGER)) FROM copies WHERE file_code = ? AND version = ? AND number IS NOT NULL",
        (file_code, version),
    ).fetchone()
    return f"{(row[0] or 0) + 1:03d}"


def add_copy(connection: sqlite3.Connection, copy: Copy) -> Copy:
    """Record a copy; its id is the register's."""
    names = [n for n in COPY_COLUMNS if n != "id"]
    cursor = connection.execute(
        f"INSERT INTO copies ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [getattr(copy, n) for n in names],
    )
    return dataclasses.replace(copy, id=int(cursor.lastrowid or 0))


def recall(connection: sqlite3.Connection, copy: Copy, *, on: str, by: str) -> None:
    connection.execute("UPDATE copies SET recalled_on = ?, recalled_by = ? WHERE id = ?", (on, by, copy.id))


def reviews(connection: sqlite3.Connection, file_code: str | None = None) -> list[Review]:
    """Periodic reviews recorded, oldest first."""
    where, arguments = ("WHERE file_code = ?", (file_code,)) if file_code else ("", ())
    rows = connection.execute(
        f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews {where} ORDER BY reviewed_on, id", arguments
    )
    return [Review(*row) for row in rows]


def add_review(connection: sqlite3.Connection, review: Review) -> None:
    connection.execute(
        f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)}) VALUES ({', '.join('?' for _ in REVIEW_COLUMNS)})",
        [getattr(review, n) for n in REVIEW_COLUMNS],
    )


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
