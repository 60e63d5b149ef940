"""Moving an archive's register from its SQLite file to a server database (PostgreSQL), all or nothing.

Every row is copied as it is, ids included, into an empty database brought to this opsdoc's schema;
the counts are compared; and the file is then closed to writes for good: a table says where the
register went, triggers refuse any write an opsdoc still using the file would try, and its layout
number is one no earlier opsdoc reads. The file is closed in the same transaction that held it while
its rows were copied; the server's copy is committed first and taken away again should the file's
commit fail, so either both happen or the file goes on as the register. The file
stays in the archive as the record of the register before the move. Both registers are held by
their writers' locks throughout, so no issue lands in the file while its rows are being copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Table, func, insert, inspect, select, text

from opsdoc.control import database
from opsdoc.control.database import (
    MOVED_LAYOUT,
    MOVED_TABLE,
    REGISTER_NAME,
    Register,
    UnusableRegister,
    open_register,
    refusal,
    register_url,
    server_url,
)
from opsdoc.errors import OpsdocError


@dataclass(frozen=True)
class Moved:
    url: str  # without its password
    rows: dict[str, int]  # table → rows copied


def move_register(archive: Path, to: str, *, by: str, now: datetime | None = None) -> Moved:
    """Copy the archive's SQLite register into the empty database `to` and close the file to writes."""
    if register_url(archive) is not None:
        raise OpsdocError(
            None, "该归档的登记册已在服务器数据库上（register_url）：只能迁移归档文件夹中的 SQLite 登记册"
        )
    url = server_url(to, "--to")
    where = database.shown(url)
    moment = (now or datetime.now()).astimezone().isoformat(timespec="seconds")
    with open_register(archive) as source:
        source.lock()  # no issue lands in the file from here on
        with database.target(url) as target:
            tables = set(inspect(target.connection).get_table_names()) & database.OURS
            if tables:
                raise refusal(
                    UnusableRegister, where, f"数据库中已有表 {'、'.join(sorted(tables))}：请迁移到一个空的数据库"
                )
            target.lock()
            database.upgrade(target, fresh=True)
            rows = {table.name: _copy(source, target, table) for table in database.metadata.sorted_tables}
            _close_to_writes(source, where, moment, by)  # not committed yet: both commits come last
            target.commit()
            try:
                source.commit()
            except BaseException:
                _empty(target)  # the file was not closed: the server's copy goes, so the move can be run again
                raise
    return Moved(where, rows)


def _empty(target: Register) -> None:
    target.lock()
    database.metadata.drop_all(target.connection)
    target.connection.exec_driver_sql(f"DROP TABLE {database.VERSION_TABLE}")
    target.commit()


def _copy(source: Register, target: Register, table: Table) -> int:
    """One table's rows, as they are; PostgreSQL's id sequence then continues after the highest id."""
    rows = [dict(row._mapping) for row in source.execute(select(table))]
    if rows:
        target.execute(insert(table), rows)
    if "id" in table.c and rows:
        target.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :highest)"),
            {"table": table.name, "highest": max(row["id"] for row in rows)},
        )
    copied = target.execute(select(func.count()).select_from(table)).scalar()
    if copied != len(rows):
        raise refusal(
            UnusableRegister, target.where, f"表 {table.name} 复制了 {copied} 行，应为 {len(rows)} 行：未迁移"
        )
    return len(rows)


def _close_to_writes(source: Register, url: str, moment: str, by: str) -> None:
    raw = source.connection.exec_driver_sql
    raw(f"CREATE TABLE {MOVED_TABLE} (url TEXT NOT NULL, moved_at TEXT NOT NULL, moved_by TEXT NOT NULL)")
    raw(f"INSERT INTO {MOVED_TABLE} VALUES (?, ?, ?)", (url, moment, by))
    raw(f"PRAGMA user_version={MOVED_LAYOUT}")  # an opsdoc from before the move refuses it: 请升级
    refused = f"{REGISTER_NAME} 已迁移到 {url}：请设置 register_url".replace("'", "''")
    for table in database.OURS - {database.VERSION_TABLE}:
        for event in ("INSERT", "UPDATE", "DELETE"):
            raw(
                f"CREATE TRIGGER {MOVED_TABLE}_{table}_{event.lower()} BEFORE {event} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{refused}'); END"
            )
