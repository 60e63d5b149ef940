"""The register of issued versions (受控文件清单): an SQLite file in the archive folder.

SQLite needs no server, and its transactions give what document control asks for: a version
is recorded whole or not at all, and `BEGIN IMMEDIATE` makes concurrent issues take turns.
The rollback journal (not WAL) is used because archives live on shared folders, where WAL's
shared memory does not work. The file says what it is through `PRAGMA application_id`; its
layout through `PRAGMA user_version`, so a later opsdoc can migrate it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from opsdoc.contract.findings import Finding, Report, finding
from opsdoc.errors import OpsdocError

REGISTER_NAME = "受控文件清单.sqlite"
APPLICATION_ID = 0x4F505344  # "OPSD": this file is an opsdoc register
SCHEMA_VERSION = 1
CURRENT, SUPERSEDED = "现行", "作废"
BUSY_SECONDS = 120  # another issue holds the register while it files its version

SCHEMA = f"""
CREATE TABLE issued (
    id INTEGER PRIMARY KEY,
    file_code TEXT NOT NULL,
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
    status TEXT NOT NULL CHECK (status IN ('{CURRENT}', '{SUPERSEDED}')),
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
    superseded_by TEXT,
    UNIQUE (file_code, version)
);
-- At most one current version of a document, whatever the program writing the file.
CREATE UNIQUE INDEX one_current_version ON issued (file_code) WHERE status = '{CURRENT}';
"""


class UnusableRegister(OpsdocError):
    """Raised when the register file is not an opsdoc register, is damaged or is from a newer opsdoc."""


@dataclass(frozen=True)
class Entry:
    """One issued version; paths are relative to the archive folder, with forward slashes."""

    file_code: str
    title: str
    version: str
    compiled_by: str
    compiled_on: str
    reviewed_by: str
    reviewed_on: str
    approved_by: str
    approved_on: str
    effective_on: str
    secrecy: str
    status: str
    note: str
    docx_path: str
    docx_sha256: str
    pdf_path: str
    pdf_sha256: str
    void_pdf_path: str | None
    void_pdf_sha256: str | None
    issued_at: str
    issued_by: str
    superseded_at: str | None
    superseded_by: str | None

    def files(self) -> list[tuple[str, str]]:
        """(path, sha256) of every file of this version in the archive."""
        found = [(self.docx_path, self.docx_sha256), (self.pdf_path, self.pdf_sha256)]
        if self.void_pdf_path and self.void_pdf_sha256:
            found.append((self.void_pdf_path, self.void_pdf_sha256))
        return found


COLUMNS = [f.name for f in fields(Entry)]


def register_path(archive: Path) -> Path:
    return archive / REGISTER_NAME


@contextmanager
def open_register(archive: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the archive's register, checked to be one; created (empty) when asked.

    Without `create`, a missing register is an error: reading never leaves a file behind.
    """
    path = register_path(archive)
    if not path.is_file() and not create:
        raise UnusableRegister(path, "登记册不存在：该文件夹还没有发布过任何版本（opsdoc issue 会创建它）")
    try:
        # isolation_level=None: transactions are opened explicitly with BEGIN IMMEDIATE.
        connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise UnusableRegister(path, f"无法打开登记册（{exc}）") from None
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("PRAGMA synchronous=FULL")
        _check_or_create(connection, path)
        yield connection
    except sqlite3.DatabaseError as exc:
        raise UnusableRegister(path, f"不是 opsdoc 登记册或已损坏（{exc}），未作任何改动；请从备份恢复") from None
    finally:
        connection.close()


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
    if version < SCHEMA_VERSION:  # no older layout exists yet; a migration goes here when one does
        raise UnusableRegister(path, f"登记册格式 {version} 无法识别")
    problem = connection.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise UnusableRegister(path, f"登记册已损坏（{problem}），未作任何改动；请从备份恢复")


def entries(connection: sqlite3.Connection, file_code: str | None = None) -> list[Entry]:
    """Issued versions, newest first (by issue time, then by entry order)."""
    where, arguments = ("WHERE file_code = ?", (file_code,)) if file_code else ("", ())
    rows = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM issued {where} ORDER BY issued_at DESC, id DESC", arguments
    )
    return [Entry(*row) for row in rows]


def find(connection: sqlite3.Connection, file_code: str, version: str) -> Entry | None:
    row = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM issued WHERE file_code = ? AND version = ?", (file_code, version)
    ).fetchone()
    return Entry(*row) if row else None


def current(connection: sqlite3.Connection, file_code: str) -> Entry | None:
    row = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM issued WHERE file_code = ? AND status = ?", (file_code, CURRENT)
    ).fetchone()
    return Entry(*row) if row else None


def insert(connection: sqlite3.Connection, entry: Entry) -> None:
    connection.execute(
        f"INSERT INTO issued ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
        [getattr(entry, name) for name in COLUMNS],
    )


def supersede(
    connection: sqlite3.Connection, entry: Entry, *, by_version: str, at: str, void_pdf: tuple[str, str]
) -> None:
    connection.execute(
        "UPDATE issued SET status = ?, superseded_at = ?, superseded_by = ?, void_pdf_path = ?, void_pdf_sha256 = ?"
        " WHERE file_code = ? AND version = ?",
        (SUPERSEDED, at, by_version, *void_pdf, entry.file_code, entry.version),
    )


def verify_archive(archive: Path) -> Report:
    """Re-hash every registered file and look for files nobody registered; each difference is a finding.

    Only the register itself and its journal are not files of the archive: anything else
    (a staging folder left by a killed issue included) is reported.
    """
    findings: list[Finding] = []
    with open_register(archive) as connection:
        registered: dict[str, str] = {}
        for entry in entries(connection):
            registered.update(entry.files())
    for relative, digest in sorted(registered.items()):
        path = archive / relative
        if not path.is_file():
            findings.append(finding("archive-missing-file", None, f"{relative}：登记册中有此文件，归档中不存在"))
        elif _sha256_of(path) != digest:
            findings.append(
                finding("archive-altered-file", None, f"{relative}：内容与登记时不同（SHA-256 不符），文件已被改动")
            )
    own = {REGISTER_NAME, REGISTER_NAME + "-journal"}
    for path in sorted(archive.rglob("*")):
        relative = path.relative_to(archive).as_posix()
        if path.is_file() and relative not in registered and relative not in own:
            findings.append(finding("archive-unregistered-file", None, f"{relative}：登记册中没有这个文件"))
    return Report(str(archive), findings)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
