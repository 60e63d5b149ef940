"""Copies handed out (发放) and recalled (回收): the distribution and retrieval of ISO 9001 7.5.3.2.

The archived master is the 原件 the 文控 keeps and never hands out; what leaves the archive is a
copy made from it: the archived .docx, checked against its registered SHA-256, with its
control status restated on every page (the cover's stamp and 受控状态 row, every footer) and
laid out by LibreOffice. A controlled copy says 受控 and its 分发号, allocated here in the
order copies are handed out; it is registered with its holder and recalled when its version
stops being in force. A 非受控 copy says 非受控（仅供参考） on every page and has no number: it is
registered (who was given what) but never recalled, since nothing tells its holder of a change.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from opsdoc.contract.model import identifier
from opsdoc.contract.vocabulary import CURRENT, PENDING_EFFECT, SUPERSEDED, WITHDRAWN
from opsdoc.control import register
from opsdoc.control.archive import read_regular, resolve
from opsdoc.control.register import Copy, Entry, UnusableRegister, open_register, operator
from opsdoc.errors import IssuedVersionExists, OpsdocError
from opsdoc.office.output import FileKind, Published, guard_output, publish, safe_file_name

UNCONTROLLED = "非受控（仅供参考）"


def controlled_mark(number: str) -> str:
    return f"受控（分发号 {number}）"


@dataclass(frozen=True)
class Handout:
    """Who receives a copy, and what kind."""

    holder: str  # 接收人
    department: str = ""
    count: int = 1  # 份数 of this copy the holder receives
    controlled: bool = True
    on: date | None = None  # the day it is handed out; None: today
    by: str | None = None  # the 文控; None: the operating-system user


@dataclass(frozen=True)
class Distributed:
    copy: Copy
    path: Path
    status: Published


# The .docx with its marks → its PDF (LibreOffice; tests of the register pass a stand-in).
LayOut = Callable[[bytes], bytes]


def distribute(
    archive: Path,
    file_code: str,
    version: str,
    output: Path,
    handout: Handout,
    *,
    lay_out: LayOut,
    force: bool = False,
) -> Distributed:
    """Make and register one copy of a version in force (现行 or 待生效), written into `output`.

    The 分发号 is allocated and the row written under the register's lock, and committed only
    once the copy's PDF is in place: a failure leaves neither.
    """
    from opsdoc.generate.marks import marked  # lxml: only when a copy is made

    file_code, version = identifier(file_code), identifier(version)
    if handout.count < 1:
        raise OpsdocError(None, f"份数应为正整数，而不是 {handout.count}")
    if not handout.holder.strip():
        raise OpsdocError(None, "接收人不能为空")
    today = handout.on or date.today()
    with open_register(archive) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            entry = _in_force(connection, archive, file_code, version, today)
            master = resolve(archive, entry.docx_path)
            docx = read_regular(master)
            if hashlib.sha256(docx).hexdigest() != entry.docx_sha256:
                raise UnusableRegister(
                    master, "归档的 .docx 被改动过（SHA-256 与登记册不符），不从它制作副本：请从备份恢复"
                )
            number = register.next_copy_number(connection, file_code, version) if handout.controlled else None
            mark = controlled_mark(number) if number else UNCONTROLLED
            pdf = lay_out(marked(docx, mark))
            stem = Path(entry.docx_path).stem
            name = safe_file_name(stem, f"_分发号{number}.pdf" if number else "_非受控.pdf")
            planned = guard_output(output / name, pdf, inputs=[archive], force=force, kind=FileKind.COPY)
            copy = register.add_copy(
                connection,
                Copy(
                    id=0,
                    file_code=file_code,
                    version=version,
                    number=number,
                    holder=handout.holder.strip(),
                    department=handout.department.strip(),
                    count=handout.count,
                    distributed_on=today.isoformat(),
                    distributed_by=handout.by or operator(),
                    pdf_name=planned.path.name,
                    pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                ),
            )
            output.mkdir(parents=True, exist_ok=True)
            status = publish(planned)
            try:
                connection.execute("COMMIT")
            except BaseException:
                if status is Published.WRITTEN:
                    planned.path.unlink(missing_ok=True)
                raise
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return Distributed(copy, planned.path, status)


def _in_force(connection: sqlite3.Connection, archive: Path, file_code: str, version: str, today: date) -> Entry:
    entry = next((e for e in register.entries(connection, file_code, on=today) if e.version == version), None)
    if entry is None:
        raise UnusableRegister(archive, f"登记册中没有 {file_code} {version}")
    if entry.status not in (CURRENT, PENDING_EFFECT) or entry.disposed_at:
        raise IssuedVersionExists(
            archive / entry.docx_path, f"{version} 是{entry.status}版本：只能分发现行或待生效的版本"
        )
    return entry


def recall(
    archive: Path, file_code: str, version: str, number: str, *, on: date | None = None, by: str | None = None
) -> Copy:
    """Record the return of a controlled copy (回收)."""
    file_code, version, number = identifier(file_code), identifier(version), identifier(number)
    with open_register(archive) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = next(
                (c for c in register.copies(connection, file_code, version) if c.number == number.zfill(3)), None
            )
            if found is None:
                raise UnusableRegister(archive, f"登记册中没有 {file_code} {version} 分发号 {number} 的受控副本")
            if found.recalled_on:
                raise IssuedVersionExists(
                    None, f"分发号 {found.number} 已于 {found.recalled_on} 由 {found.recalled_by} 回收"
                )
            day = (on or date.today()).isoformat()
            if day < found.distributed_on:
                raise OpsdocError(None, f"回收日期 {day} 早于分发日期 {found.distributed_on}")
            register.recall(connection, found, on=day, by=by or operator())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        recalled = next(c for c in register.copies(connection, file_code, version) if c.id == found.id)
    return recalled


@dataclass(frozen=True)
class Holding:
    """A copy with what the 文控 must do about it on a day."""

    copy: Copy
    version_status: str  # the status of its version that day
    to_recall: bool  # a controlled copy still out of a version no longer in force


def holdings(archive: Path, on: date | None = None) -> list[Holding]:
    """Every copy handed out, with its version's status on `on` (today) and whether it is to be recalled."""
    with open_register(archive) as connection:
        return holdings_in(connection, on)


def holdings_in(connection: sqlite3.Connection, on: date | None = None) -> list[Holding]:
    statuses = {(e.file_code, e.version): e.status for e in register.entries(connection, on=on)}
    found = []
    for copy in register.copies(connection):
        status = statuses.get((copy.file_code, copy.version), "")
        out = copy.controlled and not copy.recalled_on
        found.append(Holding(copy, status, out and status in (SUPERSEDED, WITHDRAWN)))
    return found
