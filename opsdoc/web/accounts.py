"""Who may use the web page, and what each of them did: accounts and the audit log, in one SQLite file.

Passwords are stored only as werkzeug's salted scrypt hashes (the library Flask itself is built
on; no cryptography is written here). Every action a user takes through the page, allowed or
refused, is a row of the audit log with who, when, what, on what, and how it ended.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from opsdoc.errors import OpsdocError

ACCOUNTS_NAME = "opsdoc-web.sqlite"
MIN_PASSWORD = 10  # characters
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0  -- raised by logout, a new password, removal: older sessions end
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS uploads (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signoffs (
    id TEXT PRIMARY KEY,
    upload TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_code TEXT NOT NULL,
    version TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    approver TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    reviewed_at TEXT,
    approved_at TEXT,
    refused_by TEXT,
    refused_at TEXT,
    refusal TEXT NOT NULL DEFAULT '',
    issued_at TEXT
)
"""
KEPT_TEXT = 200  # characters of a name or target the audit log keeps: what a visitor types is bounded


class Role(StrEnum):
    MANAGER = "manager"  # 服务项目经理: checks a workbook
    CONTROLLER = "controller"  # 文控: checks, issues, keeps the register
    QA = "qa"  # checks workbooks and reads the register
    AUDITOR = "auditor"  # reads the register and the audit log, nothing more

    @property
    def label(self) -> str:
        return {"manager": "服务项目经理", "controller": "文控", "qa": "QA", "auditor": "审计"}[self.value]


class AccountError(OpsdocError):
    """A user that cannot be added: a name taken, a weak password, an unknown role."""

    exit_code = 3


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    generation: int = 0  # the session's; one from before a logout or a new password is no longer valid


@dataclass(frozen=True)
class SignOff:
    """A workbook sent for 审核 and 批准 in the page, signed by the accounts the workbook names."""

    id: str
    upload: str  # the stored workbook's token: what is signed is exactly what is issued
    name: str
    sha256: str
    file_code: str
    version: str
    reviewer: str  # the last 修订记录 row's 审核人
    approver: str  # and its 批准人
    submitted_by: str
    submitted_at: str
    reviewed_at: str | None = None
    approved_at: str | None = None
    refused_by: str | None = None
    refused_at: str | None = None
    refusal: str = ""
    issued_at: str | None = None

    @property
    def state(self) -> str:
        if self.issued_at:
            return "已发布"
        if self.refused_at:
            return "已退回"
        if self.approved_at:
            return "已批准"
        return "待批准" if self.reviewed_at else "待审核"

    @property
    def signed(self) -> str:
        """What the register records of the signatures."""
        return f"网页签署：审核 {self.reviewer} {self.reviewed_at}，批准 {self.approver} {self.approved_at}"


SIGNOFF_COLUMNS = [
    "id",
    "upload",
    "name",
    "sha256",
    "file_code",
    "version",
    "reviewer",
    "approver",
    "submitted_by",
    "submitted_at",
    "reviewed_at",
    "approved_at",
    "refused_by",
    "refused_at",
    "refusal",
    "issued_at",
]


@dataclass(frozen=True)
class Event:
    at: str
    user: str
    action: str
    target: str
    outcome: str
    address: str = ""


class Accounts:
    """The accounts and audit log of one web installation, in `folder`/opsdoc-web.sqlite."""

    def __init__(self, folder: Path):
        self.path = folder / ACCOUNTS_NAME

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)  # password hashes, the audit log and uploaded workbooks: the server's user only
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.executescript(SCHEMA)
            with connection:  # one transaction: committed on success, rolled back on error
                yield connection
        finally:
            connection.close()

    def add(self, name: str, role: str, password: str) -> User:
        name = _checked_name(name)
        try:
            kind = Role(role)
        except ValueError:
            raise AccountError(None, f"角色应为 {'、'.join(r.value for r in Role)} 之一，而不是 {role}") from None
        _strong(password)
        with self._connection() as connection:
            try:
                connection.execute(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (name, kind.value, generate_password_hash(password), now()),
                )
            except sqlite3.IntegrityError:
                raise AccountError(None, f"用户 {name} 已存在") from None
        return User(name, kind)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the user ends."""
        _strong(password)
        with self._connection() as connection:
            changed = connection.execute(
                "UPDATE users SET password_hash = ?, generation = generation + 1 WHERE name = ?",
                (generate_password_hash(password), name),
            ).rowcount
        if not changed:
            raise AccountError(None, f"没有用户 {name}")

    def remove(self, name: str) -> None:
        """Remove an account; its sessions end (its audit entries stay)."""
        with self._connection() as connection:
            if not connection.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise AccountError(None, f"没有用户 {name}")
            connection.execute("DELETE FROM uploads WHERE owner = ?", (name,))

    def end_sessions(self, name: str) -> None:
        with self._connection() as connection:
            connection.execute("UPDATE users SET generation = generation + 1 WHERE name = ?", (name,))

    def verify(self, name: str, password: str) -> User | None:
        """The user with this name and password; None for either wrong (said the same way to the caller)."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT role, password_hash, generation FROM users WHERE name = ?", (name[:40],)
            ).fetchone()
        if row is None:
            generate_password_hash(password)  # the same work as a real check: the time tells no name apart
            return None
        return User(name, Role(row[0]), row[2]) if check_password_hash(row[1], password) else None

    def get(self, name: str) -> User | None:
        with self._connection() as connection:
            row = connection.execute("SELECT role, generation FROM users WHERE name = ?", (name,)).fetchone()
        return User(name, Role(row[0]), row[1]) if row else None

    def record(self, user: str, action: str, target: str, outcome: str, address: str = "") -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO audit (at, user, action, target, outcome, address) VALUES (?, ?, ?, ?, ?, ?)",
                (now(), user[:KEPT_TEXT], action, target[:KEPT_TEXT], outcome[:KEPT_TEXT], address[:64]),
            )

    def events(self, limit: int = 200, before: int | None = None) -> list[tuple[int, Event]]:
        """The newest `limit` events (before the event numbered `before`), newest first, with their numbers."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT id, at, user, action, target, outcome, address FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?",
                (before if before is not None else 2**62, limit),
            ).fetchall()
        return [(row[0], Event(*row[1:])) for row in rows]

    def own_upload(self, token: str, owner: str, name: str) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO uploads (token, owner, name, at) VALUES (?, ?, ?, ?)", (token, owner, name, now())
            )

    def upload_name(self, token: str, owner: str) -> str | None:
        """The name an upload was sent under, for its owner only."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT name FROM uploads WHERE token = ? AND owner = ?", (token, owner)
            ).fetchone()
        return str(row[0]) if row else None

    def forget_uploads(self, before: str) -> list[str]:
        """The tokens of uploads made before `before` (ISO time), no longer known to anyone."""
        with self._connection() as connection:
            # a workbook waiting for its signatures or its issue is kept until it is issued or sent back
            waiting = "SELECT upload FROM signoffs WHERE issued_at IS NULL AND refused_at IS NULL"
            old = f"at < ? AND token NOT IN ({waiting})"
            tokens = [r[0] for r in connection.execute(f"SELECT token FROM uploads WHERE {old}", (before,))]
            connection.execute(f"DELETE FROM uploads WHERE {old}", (before,))
        return tokens

    def submit(self, signoff: SignOff) -> None:
        with self._connection() as connection:
            connection.execute(
                f"INSERT INTO signoffs ({', '.join(SIGNOFF_COLUMNS)}) VALUES ({', '.join('?' for _ in SIGNOFF_COLUMNS)})",
                [getattr(signoff, c) for c in SIGNOFF_COLUMNS],
            )

    def signoffs(self) -> list[SignOff]:
        with self._connection() as connection:
            rows = connection.execute(f"SELECT {', '.join(SIGNOFF_COLUMNS)} FROM signoffs ORDER BY submitted_at DESC")
            return [SignOff(*row) for row in rows]

    def signoff(self, signoff_id: str) -> SignOff | None:
        return next((s for s in self.signoffs() if s.id == signoff_id), None)

    def mark(self, signoff_id: str, state: str, **values: str) -> bool:
        """Record a step (reviewed_at, approved_at, refused_*, issued_at) if the sign-off is still in `state`;
        False when someone else's step came first."""
        allowed = {"reviewed_at", "approved_at", "refused_by", "refused_at", "refusal", "issued_at"}
        assert set(values) <= allowed
        with self._connection() as connection:
            found = self._in(connection, signoff_id)
            if found is None or found.state != state:
                return False
            assignments = ", ".join(f"{name} = ?" for name in values)
            connection.execute(f"UPDATE signoffs SET {assignments} WHERE id = ?", [*values.values(), signoff_id])
        return True

    @staticmethod
    def _in(connection: sqlite3.Connection, signoff_id: str) -> SignOff | None:
        row = connection.execute(
            f"SELECT {', '.join(SIGNOFF_COLUMNS)} FROM signoffs WHERE id = ?", (signoff_id,)
        ).fetchone()
        return SignOff(*row) if row else None


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or any(not c.isprintable() for c in name) or len(name) > 40:
        raise AccountError(None, "用户名应为 1–40 个可打印字符")
    return name


def _strong(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(None, f"密码至少 {MIN_PASSWORD} 个字符")


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
