"""Who may use the web page, and what each of them did: accounts and the audit log, in one SQLite file.

Passwords are stored only as werkzeug's salted scrypt hashes (the library Flask itself is built
on; no cryptography is written here). Every action a user takes through the page, allowed or
refused, is a row of the audit log with who, when, what, on what, and how it ended.
"""

from __future__ import annotations

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
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL
)
"""


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


@dataclass(frozen=True)
class Event:
    at: str
    user: str
    action: str
    target: str
    outcome: str


class Accounts:
    """The accounts and audit log of one web installation, in `folder`/opsdoc-web.sqlite."""

    def __init__(self, folder: Path):
        self.path = folder / ACCOUNTS_NAME

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.executescript(SCHEMA)
            with connection:  # one transaction: committed on success, rolled back on error
                yield connection
        finally:
            connection.close()

    def add(self, name: str, role: str, password: str) -> User:
        name = name.strip()
        if not name or any(not c.isprintable() for c in name) or len(name) > 40:
            raise AccountError(None, "用户名应为 1–40 个可打印字符")
        try:
            kind = Role(role)
        except ValueError:
            raise AccountError(None, f"角色应为 {'、'.join(r.value for r in Role)} 之一，而不是 {role}") from None
        if len(password) < MIN_PASSWORD:
            raise AccountError(None, f"密码至少 {MIN_PASSWORD} 个字符")
        with self._connection() as connection:
            try:
                connection.execute(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (name, kind.value, generate_password_hash(password), _now()),
                )
            except sqlite3.IntegrityError:
                raise AccountError(None, f"用户 {name} 已存在") from None
        return User(name, kind)

    def verify(self, name: str, password: str) -> User | None:
        """The user with this name and password; None for either wrong (said the same way to the caller)."""
        with self._connection() as connection:
            row = connection.execute("SELECT role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            generate_password_hash(password)  # the same work as a real check: the time tells no name apart
            return None
        return User(name, Role(row[0])) if check_password_hash(row[1], password) else None

    def get(self, name: str) -> User | None:
        with self._connection() as connection:
            row = connection.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
        return User(name, Role(row[0])) if row else None

    def record(self, user: str, action: str, target: str, outcome: str) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO audit (at, user, action, target, outcome) VALUES (?, ?, ?, ?, ?)",
                (_now(), user, action, target, outcome),
            )

    def events(self, limit: int = 200) -> list[Event]:
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT at, user, action, target, outcome FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Event(*row) for row in rows]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
