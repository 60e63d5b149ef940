"""The register's database: where it is, its one schema, opening it, one writer at a time, migrations.

By default the register is an SQLite file in the archive folder: no server, and its transactions
give what document control asks for (a version recorded whole or not at all); it keeps the rollback
journal, not WAL, because archives live on shared folders, where WAL's shared memory does not work,
and says what it is through PRAGMA application_id. When one machine and
one 文控 are not enough, `register_url` in the opsdoc.toml beside the archive folder (or the
OPSDOC_REGISTER_URL environment variable, which wins) names a PostgreSQL database instead.

The schema is written once, in SQLAlchemy Core, and runs on both. Its migrations are Alembic's
(opsdoc/control/migrations), recorded in the table opsdoc_register_version. An SQLite register of
a layout before Alembic (PRAGMA user_version 1 to 3: opsdoc 0.1 and 0.2) is first brought to
layout 3 by the steps below, which is Alembic's first revision, and then carried on by Alembic.

Writers take turns: SQLite through BEGIN IMMEDIATE, PostgreSQL through a transaction-level
advisory lock, each held until the commit. SQLAlchemy runs in autocommit mode so that these
explicit transactions are the only ones: a read outside them sees what is committed.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
    pool,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, PendingRollbackError

from opsdoc.control.archive import collision_key
from opsdoc.errors import OpsdocError, OutputError

REGISTER_NAME = "受控文件清单.sqlite"
URL_VARIABLE = "OPSDOC_REGISTER_URL"
APPLICATION_ID = 0x4F505344  # "OPSD": this SQLite file is an opsdoc register (and PostgreSQL's lock key)
LEGACY_LAYOUT = 3  # the SQLite layout (user_version) Alembic's first revision is; it stays 3 from then on
REVISIONS = ("0001",)  # Alembic's revisions, oldest first (tests hold this to the migrations folder)
VERSION_TABLE = "opsdoc_register_version"  # not alembic_version: a shared database may hold another's
MOVED_TABLE = "moved_to"  # an SQLite register moved to a server: where, when, by whom; it takes no more writes
MOVED_LAYOUT = 99  # its user_version then: above every layout, so an opsdoc 0.1 or 0.2 refuses it too
BUSY_SECONDS = 120  # another issue holds the register while it files its version
CONNECT_SECONDS = 10  # an unreachable database server is said so, not waited on forever

metadata = MetaData()

# Each 文件编码 is bound to one document (its 文件名称) and one archive folder: another title under
# the code is a deliberate rename, and a code whose folder another code's would be is refused.
documents = Table(
    "documents",
    metadata,
    Column("file_code", Text, primary_key=True),
    Column("collision_key", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
)
# One row per issued version. Dates and times are ISO text, as the register has always held them:
# they sort as they read, on both databases.
issued = Table(
    "issued",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_code", Text, ForeignKey("documents.file_code"), nullable=False),
    *(
        Column(name, Text, nullable=False)
        for name in [
            "title",
            "version",
            "compiled_by",
            "compiled_on",
            "reviewed_by",
            "reviewed_on",
            "approved_by",
            "approved_on",
            "effective_on",
            "secrecy",
            "note",
            "docx_path",
            "docx_sha256",
            "pdf_path",
            "pdf_sha256",
        ]
    ),
    Column("void_pdf_path", Text),
    Column("void_pdf_sha256", Text),
    Column("issued_at", Text, nullable=False),
    Column("issued_by", Text, nullable=False),
    *(Column(name, Text) for name in ["superseded_at", "superseded_by", "withdrawn_at", "withdrawn_by"]),
    Column("acknowledged", Text, nullable=False, server_default=""),
    *(
        Column(name, Text)
        for name in [
            "void_docx_path",
            "void_docx_sha256",
            "redline_path",
            "redline_sha256",
            "notes_path",
            "notes_sha256",
            "disposed_at",
            "disposed_by",
        ]
    ),
    Column("files_removed", Integer, nullable=False, server_default="0"),
    UniqueConstraint("file_code", "version"),
)
# Copies handed out (分发号 NULL for a 非受控 copy) and periodic reviews.
copies = Table(
    "copies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_code", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("number", Text),
    *(Column(name, Text, nullable=False) for name in ("holder", "department")),
    Column("count", Integer, nullable=False),
    *(Column(name, Text, nullable=False) for name in ("distributed_on", "distributed_by", "pdf_name", "pdf_sha256")),
    Column("recalled_on", Text),
    Column("recalled_by", Text),
    UniqueConstraint("file_code", "version", "number"),
    ForeignKeyConstraint(["file_code", "version"], ["issued.file_code", "issued.version"]),
)
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_code", Text, nullable=False),
    Column("version", Text, nullable=False),
    *(Column(name, Text, nullable=False) for name in ("reviewed_on", "reviewed_by", "conclusion")),
    ForeignKeyConstraint(["file_code", "version"], ["issued.file_code", "issued.version"]),
)
OURS = {table.name for table in metadata.sorted_tables} | {VERSION_TABLE}


class UnusableRegister(OpsdocError):
    """Raised when the register is not an opsdoc register, is damaged, unreachable or from a newer opsdoc."""


def refusal(kind: type[OpsdocError], where: str, message: str) -> OpsdocError:
    """An error naming the register: its file, or its database's URL (without the password) in the message."""
    return kind(None, f"{where}: {message}") if "://" in where else kind(where, message)


class Register:
    """An open register: statements, and the one write transaction at a time (lock, commit, rollback)."""

    def __init__(self, connection: Connection, where: str):
        self.commit_unknown = False
        self.connection = connection
        self.where = where  # the file, or the URL without its password: what messages name
        self.server = connection.dialect.name != "sqlite"

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.connection.execute(statement, parameters)

    def lock(self) -> None:
        """Begin a transaction no other writer runs beside: concurrent issues wait here, in turn.

        On PostgreSQL, READ COMMITTED whatever the server's default: each statement then sees what the
        writer before committed (a REPEATABLE READ snapshot would be taken before the lock is granted)."""
        self.commit_unknown = False
        if self.server:
            self.connection.exec_driver_sql("BEGIN ISOLATION LEVEL READ COMMITTED")
            self.connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{BUSY_SECONDS}s'")
            self.connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPLICATION_ID})")
        else:
            self.connection.exec_driver_sql("BEGIN IMMEDIATE")
            _refuse_if_moved(self)  # a register moved away while this one waited for the lock

    def commit(self) -> None:
        """Commit; on PostgreSQL, a commit cut off (the connection lost, Ctrl-C) may or may not have happened:
        `commit_unknown` says so, and the files of the release are then left where they are."""
        if self.server and int(self._driver.info.transaction_status) == 3:  # psycopg INERROR: COMMIT would roll back
            raise refusal(UnusableRegister, self.where, "登记册事务已出错，未提交：请重试")
        try:
            self.connection.exec_driver_sql("COMMIT")
        except DBAPIError as exc:
            self.commit_unknown = self.server and exc.connection_invalidated
            raise
        except BaseException:
            self.commit_unknown = self.server
            raise

    def rollback(self) -> None:
        self.connection.exec_driver_sql("ROLLBACK")

    @property
    def _driver(self) -> Any:
        return self.connection.connection.driver_connection

    @property
    def in_transaction(self) -> bool:
        if self.connection.closed or self.connection.invalidated:  # a lost connection: the server rolled it back
            return False
        if self.server:
            return int(self._driver.info.transaction_status) != 0  # psycopg: 0 is IDLE
        return bool(self._driver.in_transaction)


def register_url(archive: Path) -> URL | None:
    """The server database holding this archive's register; None for the SQLite file in the folder."""
    from opsdoc.contract.conventions import CONFIG_NAME, load_conventions

    named = os.environ.get(URL_VARIABLE)
    where = f"环境变量 {URL_VARIABLE}"
    if not named:
        named = load_conventions(archive.resolve(), None).register_url
        where = f"{archive.resolve().parent / CONFIG_NAME} 的 register_url"
    return server_url(named, where) if named else None


def server_url(named: str, where: str) -> URL:
    """A PostgreSQL URL as given (postgresql://…), with the driver opsdoc[postgresql] installs; `where`
    says where it was given, for the message when it is not one."""
    try:
        url = make_url(named)
    except (ArgumentError, ValueError):  # not echoed: it may hold a password
        raise UnusableRegister(None, f"{where}不是数据库地址，应形如 postgresql://用户@主机/数据库") from None
    if url.get_backend_name() != "postgresql":
        raise UnusableRegister(None, f"{where}：登记册只能放在 PostgreSQL 上（或不设，用归档文件夹中的 SQLite 文件）")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # the driver opsdoc[postgresql] installs
    return url


def shown(url: URL) -> str:
    """A server register's URL as messages name it and opsdoc.toml holds it: as the user writes it, without
    a password (in the URL or its query), which ~/.pgpass or PGPASSWORD give instead."""
    query = {key: value for key, value in url.query.items() if "password" not in key.lower()}
    bare = url.set(drivername=url.get_backend_name(), query=query)._replace(password=None)  # set() keeps a None
    return bare.render_as_string()


def register_exists(archive: Path) -> bool:
    """Whether the archive has a register yet (without creating one)."""
    url = register_url(archive)
    if url is None:
        return (archive / REGISTER_NAME).is_file()
    with connected(_engine(url), shown(url)) as register:
        return VERSION_TABLE in inspect(register.connection).get_table_names()


_engines: dict[str, Engine] = {}


def _engine(url: URL) -> Engine:
    """One engine, and so one pool of connections, per server database for the life of the process."""
    key = url.render_as_string(hide_password=False)
    if key not in _engines:
        try:
            _engines[key] = create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=True,
                connect_args={"connect_timeout": CONNECT_SECONDS, "application_name": "opsdoc"},
            )
        except (NoSuchModuleError, ModuleNotFoundError):
            raise UnusableRegister(
                None, "登记册在 PostgreSQL 上，但未安装其驱动：请安装 pip install 'opsdoc[postgresql]'"
            ) from None
    return _engines[key]


def _sqlite_engine(path: Path) -> Engine:
    # NullPool: the file is opened for each use and closed after it, as a shared folder needs.
    return create_engine(
        URL.create("sqlite", database=str(path)),
        isolation_level="AUTOCOMMIT",
        poolclass=pool.NullPool,
        connect_args={"timeout": BUSY_SECONDS},
    )


@contextmanager
def open_register(archive: Path, *, create: bool = False) -> Iterator[Register]:
    """The archive's register, checked to be one and migrated to this opsdoc's layout; created
    (empty) when asked. Without `create`, a missing register is an error: reading never leaves one behind."""
    if archive.exists() and not archive.is_dir():
        raise UnusableRegister(archive, "不是文件夹：--archive 应是归档文件夹")
    url = register_url(archive)
    if url is None:
        path = archive / REGISTER_NAME
        for own in (path, path.with_name(path.name + "-journal")):
            _regular_or_absent(own)
        if not path.is_file():
            if not create:
                raise UnusableRegister(path, "登记册不存在：该文件夹还没有发布过任何版本（opsdoc issue 会创建它）")
            _no_orphan_versions(archive, str(path), server=False)
        engine, where = _sqlite_engine(path), str(path)
    else:
        engine, where = _engine(url), shown(url)
    with connected(engine, where) as register:
        if register.server:
            yield _check_or_create_server(register, archive, create=create)
        else:
            register.connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
            register.connection.exec_driver_sql("PRAGMA synchronous=FULL")
            yield _check_or_create_file(register)


def target(url: URL) -> Any:
    """A connection to a server database given by URL (register move's target), as a Register."""
    return connected(_engine(url), shown(url))


@contextmanager
def connected(engine: Engine, where: str) -> Iterator[Register]:
    """A connection, its failures said in the user's words; a transaction left open is rolled back."""
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        raise _unusable(where, exc) from None
    register = Register(connection, where)
    try:
        yield register
    except (DBAPIError, sqlite3.DatabaseError, PendingRollbackError) as exc:
        raise _unusable(where, exc) from None
    finally:
        try:
            if register.in_transaction:  # a failure between lock and commit: nothing of it stays
                register.rollback()
        finally:
            connection.close()


def _no_orphan_versions(archive: Path, where: str, *, server: bool) -> None:
    """A first issue into a folder that holds versions already: their register is elsewhere (a server
    database this user's opsdoc.toml does not name), and a second register must not begin here."""
    if not archive.is_dir() or not any(
        p.is_dir() and not p.is_symlink() and p.name[0] != "." for p in archive.iterdir()
    ):
        return
    if not server and (archive / REGISTER_NAME).is_file():  # another first issue made it meanwhile
        return
    if server:
        said = (
            f"登记册数据库是空的，而归档文件夹 {archive} 中已有版本：它们的登记册在别处（另一个数据库，或归档文件夹中的 "
            f"{REGISTER_NAME}），请检查 register_url；未作任何改动"
        )
    else:
        said = (
            "归档文件夹中已有版本文件夹，却没有登记册：登记册可能在服务器数据库上，请在归档文件夹旁的 opsdoc.toml "
            f"中设置 register_url（或环境变量 {URL_VARIABLE}）；未作任何改动"
        )
    raise refusal(UnusableRegister, where, said)


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


def _unusable(where: str, exc: BaseException) -> OpsdocError:
    """The real cause of a register failure, in the user's words: a full disk is not a damaged register."""
    cause = getattr(exc, "orig", None) or exc
    said = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    text = said.lower()
    if "disk is full" in text or "no space left" in text:
        return refusal(OutputError, where, f"磁盘已满（{said}），登记册未改动：请腾出空间后重试")
    if "disk i/o" in text:
        return refusal(OutputError, where, f"读写登记册时出错（{said}），登记册未改动：请检查磁盘或共享文件夹的连接")
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return refusal(OutputError, where, f"登记册或归档文件夹只读（{said}），未作任何改动：请检查文件夹或数据库权限")
    if "unable to open" in text:
        return refusal(OutputError, where, f"无法打开登记册（{said}）：请检查归档文件夹是否存在、是否可写")
    if "locked" in text or "busy" in text or "lock timeout" in text:
        return refusal(OutputError, where, f"登记册正被其他发布占用（{said}），请稍后重试")
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or "connect" in text or "password" in text:
        return refusal(
            OutputError, where, f"无法连接登记册数据库（{said}），未作任何改动：请检查 register_url、网络和账号"
        )
    return refusal(UnusableRegister, where, f"不是 opsdoc 登记册或已损坏（{said}），未作任何改动；请从备份恢复")


# ---------------------------------------------------------------- checking and migrating


def _check_or_create_server(register: Register, archive: Path, *, create: bool) -> Register:
    tables = set(inspect(register.connection).get_table_names())
    if VERSION_TABLE not in tables:
        if tables & OURS:
            raise refusal(
                UnusableRegister,
                register.where,
                f"数据库中已有表 {'、'.join(sorted(tables & OURS))}，但它不是 opsdoc 登记册：请给登记册一个单独的数据库",
            )
        if not create:
            raise refusal(
                UnusableRegister, register.where, "登记册数据库是空的：还没有发布过任何版本（opsdoc issue 会创建它）"
            )
        _no_orphan_versions(archive, register.where, server=True)
    _migrate(register, fresh=VERSION_TABLE not in tables)
    return register


def _check_or_create_file(register: Register) -> Register:
    """Create the schema in a new, empty file; refuse any file that is not an opsdoc register; bring an
    older one to this opsdoc's layout."""
    raw = register.connection.exec_driver_sql
    application = raw("PRAGMA application_id").scalar()
    if application != APPLICATION_ID:
        register.lock()  # two first issues racing: one creates, the other sees it
        application = raw("PRAGMA application_id").scalar()
        if application == 0 and raw("SELECT count(*) FROM sqlite_master").scalar() == 0:
            raw(f"PRAGMA application_id={APPLICATION_ID}")
            raw(f"PRAGMA user_version={LEGACY_LAYOUT}")
            upgrade(register, fresh=True)
            register.commit()
            return register
        register.rollback()
        if application != APPLICATION_ID:
            raise refusal(UnusableRegister, register.where, "这个 SQLite 文件不是 opsdoc 登记册，未作任何改动")
    _refuse_if_moved(register)
    layout = int(raw("PRAGMA user_version").scalar() or 0)
    if layout > LEGACY_LAYOUT:
        raise refusal(
            UnusableRegister, register.where, f"登记册由更新版本的 opsdoc 创建（格式 {layout}），请升级 opsdoc"
        )
    problem = raw("PRAGMA quick_check").scalar()
    if problem != "ok":
        raise refusal(UnusableRegister, register.where, f"登记册已损坏（{problem}），未作任何改动；请从备份恢复")
    if layout == 1:
        _migrate_from_1(register)
    elif layout == 2:
        try:
            _migrate_from_2(register)
        except DBAPIError as exc:
            if not _read_only(exc):
                raise
            _read_layout_2(register)
            return register
    elif layout != LEGACY_LAYOUT:
        raise refusal(UnusableRegister, register.where, f"登记册格式 {layout} 无法识别")
    try:
        _migrate(register, fresh=False)
    except DBAPIError as exc:
        # An auditor on a read-only share: a register of layout 3 without Alembic's table reads as it is.
        if not _read_only(exc) or _revision(register) is not None:
            raise
        if register.in_transaction:
            register.rollback()
    return register


def _read_only(exc: DBAPIError) -> bool:
    """SQLite refused to write: the file is read-only, or its folder is (no journal can be made there)."""
    said = str(exc.orig).lower()
    return "readonly" in said or "unable to open" in said


def _refuse_if_moved(register: Register) -> None:
    """A register `register move` carried to a server: the file says where, and is not used."""
    raw = register.connection.exec_driver_sql
    if raw(f"SELECT 1 FROM sqlite_master WHERE name = '{MOVED_TABLE}'").scalar():
        url, at, by = raw(f"SELECT url, moved_at, moved_by FROM {MOVED_TABLE}").one()
        raise refusal(
            UnusableRegister,
            register.where,
            f"登记册已于 {at[:10]} 由 {by} 迁移到数据库 {url}：请在归档文件夹旁的 opsdoc.toml 中设置 register_url",
        )


def _revision(register: Register) -> str | None:
    if VERSION_TABLE not in inspect(register.connection).get_table_names():
        return None
    return register.connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()


def _migrate(register: Register, *, fresh: bool) -> None:
    """Bring the register to Alembic's newest revision, under the writers' lock (nothing to do, the
    common case, costs one query and no lock)."""
    if not fresh and _revision(register) == REVISIONS[-1]:
        return
    register.lock()
    try:
        revision = _revision(register)  # another process may have migrated it meanwhile
        if revision is not None and revision not in REVISIONS:
            raise refusal(
                UnusableRegister, register.where, f"登记册由更新版本的 opsdoc 创建（修订 {revision}），请升级 opsdoc"
            )
        if revision != REVISIONS[-1]:
            upgrade(
                register, fresh=revision is None and not (set(inspect(register.connection).get_table_names()) & OURS)
            )
        register.commit()
    finally:
        if register.in_transaction:
            register.rollback()


def upgrade(register: Register, *, fresh: bool) -> None:
    """Alembic, inside the open transaction: an existing layout-3 register without Alembic's table is
    recorded as its first revision (it is that schema), then every newer revision runs."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "opsdoc.control:migrations")
    config.attributes["connection"] = register.connection
    if not fresh and _revision(register) is None:
        command.stamp(config, REVISIONS[0])
    command.upgrade(config, "head")


# The layouts before Alembic, SQLite only: the steps that bring them to layout 3, which is Alembic's
# first revision. Layout 3 is written here as opsdoc 0.2 wrote it, frozen: the tables above are today's.

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
_LAYOUT_1 = [line.split()[0] for line in _ISSUED_COLUMNS.strip().splitlines()]  # what a layout-1 row holds
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
# Tables layout 3 adds: copies handed out and periodic reviews.
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
_LAYOUT_3 = f"""
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


def _migrate_from_2(register: Register) -> None:
    """Layout 2 → 3, in one transaction: the new columns of each version (empty: nothing of the
    kind was filed then) and the tables of copies and reviews. Every row is kept as it was."""
    raw = register.connection.exec_driver_sql
    register.lock()
    try:
        if raw("PRAGMA user_version").scalar() != 2:  # another process migrated it meanwhile
            register.rollback()
            return
        for column in _ADDED_3.strip().split(",\n"):
            raw(f"ALTER TABLE issued ADD COLUMN {column.strip()}")
        for statement in _TABLES_3.split(";"):
            raw(statement)
        raw(f"PRAGMA user_version={LEGACY_LAYOUT}")
        register.commit()
    finally:
        if register.in_transaction:
            register.rollback()


def _read_layout_2(register: Register) -> None:
    """A layout-2 register this user may only read (an auditor on a read-only share): shown as layout 3
    through temporary views and tables (SQLite looks in `temp` first), nothing written to the file.
    The first 文控 who opens it with write access migrates it."""
    raw = register.connection.exec_driver_sql
    added = ", ".join(
        f"{'0' if column.split()[0] == 'files_removed' else 'NULL'} AS {column.split()[0]}"
        for column in _ADDED_3.strip().split(",\n")
    )
    raw(f"CREATE TEMP VIEW issued AS SELECT *, {added} FROM main.issued")
    for statement in _TABLES_3.split(";"):  # a temporary table cannot refer to the file's tables
        statement = re.sub(r",\s*FOREIGN KEY[^\n]*", "", statement)
        raw(statement.replace("CREATE TABLE", "CREATE TEMP TABLE"))


def _migrate_from_1(register: Register) -> None:
    """Layout 1 → 3, in one transaction: each code bound to the title of its latest version, the
    stored 现行/作废 dropped (read from the dates now), the withdrawal and acknowledgement columns added."""
    raw = register.connection.exec_driver_sql
    register.lock()
    latest: Any = []
    try:
        if raw("PRAGMA user_version").scalar() != 1:  # another process migrated it meanwhile
            register.rollback()
            return
        latest = raw(
            "SELECT file_code, title FROM issued AS a WHERE id = (SELECT id FROM issued AS b"
            " WHERE b.file_code = a.file_code ORDER BY issued_at DESC, id DESC LIMIT 1)"
        ).fetchall()
        raw("ALTER TABLE issued RENAME TO issued_1")
        raw("DROP INDEX IF EXISTS one_current_version")
        for statement in _LAYOUT_3.split(";"):
            if statement.strip():
                raw(statement)
        for file_code, title in latest:
            raw(
                "INSERT INTO documents (file_code, collision_key, title) VALUES (?, ?, ?)",
                (file_code, collision_key(file_code), title),
            )
        names = ", ".join(_LAYOUT_1)
        raw(f"INSERT INTO issued (id, {names}) SELECT id, {names} FROM issued_1")
        raw("DROP TABLE issued_1")
        raw(f"PRAGMA user_version={LEGACY_LAYOUT}")
        register.commit()
    except DBAPIError as exc:
        if register.in_transaction:
            register.rollback()
        if isinstance(exc.orig, sqlite3.IntegrityError):
            keys: dict[str, list[str]] = {}
            for code, _title in latest:
                keys.setdefault(collision_key(code), []).append(code)
            clash = next((codes for codes in keys.values() if len(codes) > 1), [])
            raise refusal(
                UnusableRegister,
                register.where,
                f"登记册无法升级到新格式：文件编码 {' 与 '.join(clash)} 只差大小写或写法，会共用归档文件夹",
            ) from None
        raise
    finally:
        if register.in_transaction:
            register.rollback()
