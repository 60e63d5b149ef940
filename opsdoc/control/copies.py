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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from opsdoc.contract.model import identifier
from opsdoc.contract.vocabulary import CURRENT, PENDING_EFFECT, SUPERSEDED, WITHDRAWN
from opsdoc.control import register
from opsdoc.control.archive import resolve
from opsdoc.control.duties import Handout
from opsdoc.control.register import Copy, Entry, Register, UnusableRegister, open_register, operator
from opsdoc.errors import IssuedVersionExists, OpsdocError, OutputError
from opsdoc.office.docx_text import core_properties
from opsdoc.office.output import FileKind, Published, guard_output, publish, safe_file_name

UNCONTROLLED = "非受控（仅供参考）"
MAX_NAME = 40  # characters of a 接收人 or 部门: what fits the printed register's column
MAX_COUNT = 9999  # 份数 of one copy
RACES = 3  # times a 分发号 taken meanwhile by another 文控 is tried again


def controlled_mark(number: str) -> str:
    return f"受控（分发号 {number}）"


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
    """Make and register one copy of a version in force today (现行 or 待生效), written into `output`.

    The copy is laid out (LibreOffice, seconds) with no lock held, under the 分发号 that is next
    then; the register is locked only to check that the number is still free, write the PDF and
    commit the row. Another 文控 who took the number meanwhile makes this one lay out again under
    the next. A failure leaves neither the PDF nor the row.
    """
    from opsdoc.generate.marks import marked  # lxml: only when a copy is made

    file_code, version = identifier(file_code), identifier(version)
    holder, department = _name(handout.holder, "接收人"), _name(handout.department, "部门", optional=True)
    if not 1 <= handout.count <= MAX_COUNT:
        raise OpsdocError(None, f"份数应为 1 到 {MAX_COUNT} 之间的整数，而不是 {handout.count}")
    today = date.today()
    day = handout.on or today
    if day > today:
        raise OpsdocError(None, f"分发日期 {day.isoformat()} 在今天之后：只能登记已经发出的副本")
    _usable_folder(archive, output)
    with open_register(archive) as connection:
        entry = _in_force(connection, archive, file_code, version, today)
        if day.isoformat() < entry.issued_at[:10]:
            raise OpsdocError(None, f"分发日期 {day.isoformat()} 早于该版本的登记日期 {entry.issued_at[:10]}")
        master = resolve(archive, entry.docx_path)
        docx = register.read_archived(
            archive, entry.docx_path, entry.docx_sha256, f"{version} 的 .docx", "不从它制作副本"
        )
        properties = core_properties(docx)  # as opsdoc's render states it: the workbook's 受控状态
        if handout.controlled and properties is not None and properties.contentStatus_text == "非受控":
            raise IssuedVersionExists(
                master, f"{version} 的受控状态是非受控（工作簿如此填写）：只能分发非受控副本（--uncontrolled）"
            )
        for _ in range(RACES):
            number = register.next_copy_number(connection, file_code, version) if handout.controlled else None
            pdf = lay_out(marked(docx, controlled_mark(number) if number else UNCONTROLLED, required=True))
            name = safe_file_name(Path(entry.docx_path).stem, f"_分发号{number}.pdf" if number else "_非受控.pdf")
            planned = guard_output(output / name, pdf, inputs=[archive], force=force, kind=FileKind.COPY)
            connection.lock()
            try:
                if number and register.next_copy_number(connection, file_code, version) != number:
                    connection.rollback()  # taken meanwhile: lay out again under the next number
                    continue
                _in_force(connection, archive, file_code, version, today)  # not superseded meanwhile
                copy = register.add_copy(
                    connection,
                    Copy(
                        id=0,
                        file_code=file_code,
                        version=version,
                        number=number,
                        holder=holder,
                        department=department,
                        count=handout.count,
                        distributed_on=day.isoformat(),
                        distributed_by=handout.by or operator(),
                        pdf_name=planned.path.name,
                        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                    ),
                )
                try:
                    status = publish(planned)
                except OSError as exc:
                    raise OutputError(planned.path, f"无法写入副本（{exc.strerror or exc}），未登记") from exc
                try:
                    connection.commit()
                except BaseException:
                    if status is Published.WRITTEN:
                        planned.path.unlink(missing_ok=True)
                    raise
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            return Distributed(copy, planned.path, status)
    raise OutputError(archive, "其他文控正在连续分发同一版本，分发号被占用：请稍后重试")


def _name(value: str, what: str, *, optional: bool = False) -> str:
    """A person's or department's name as the register and the printed list hold it: one line, printable."""
    value = value.strip()
    if not value and not optional:
        raise OpsdocError(None, f"{what}不能为空")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise OpsdocError(None, f"{what}「{value.encode('unicode_escape').decode()}」含有换行或控制字符：请只写名称")
    if len(value) > MAX_NAME:
        raise OpsdocError(None, f"{what}「{value[:MAX_NAME]}…」超过 {MAX_NAME} 个字符：请写简称")
    return value


def _usable_folder(archive: Path, output: Path) -> None:
    """The copy's folder: outside the archive, and a folder (made now if missing)."""
    if output.resolve().is_relative_to(archive.resolve()):  # the archive holds registered files only
        raise OpsdocError(output, "副本不能写在归档文件夹内（verify 会把它当作未登记的文件）：请用 -o 写到归档之外")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(output, "不是文件夹：-o 应是副本写入的文件夹") from None
    except OSError as exc:
        raise OutputError(output, f"无法创建副本文件夹（{exc.strerror or exc}）") from None


def _in_force(connection: Register, archive: Path, file_code: str, version: str, today: date) -> Entry:
    entry = register.registered(connection, archive, file_code, version, today)
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
    if number.isdigit() and len(number) <= 9:
        number = f"{int(number):03d}"  # as printed: 1, 01 and 0001 are copy 001
    day = (on or date.today()).isoformat()
    if day > date.today().isoformat():
        raise OpsdocError(None, f"回收日期 {day} 在今天之后：只能登记已经收回的副本")
    with open_register(archive) as connection:
        connection.lock()
        found = next((c for c in register.copies(connection, file_code, version) if c.number == number), None)
        if found is None:
            raise UnusableRegister(archive, f"登记册中没有 {file_code} {version} 分发号 {number} 的受控副本")
        if found.recalled_on:
            raise IssuedVersionExists(
                None, f"分发号 {found.number} 已于 {found.recalled_on} 由 {found.recalled_by} 回收"
            )
        if day < found.distributed_on:
            raise OpsdocError(None, f"回收日期 {day} 早于分发日期 {found.distributed_on}")
        register.recall(connection, found, on=day, by=by or operator())
        connection.commit()
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


def holdings_in(connection: Register, on: date | None = None, versions: list[Entry] | None = None) -> list[Holding]:
    """The holdings, inside an open register, as things stood on `on` (a copy handed out later is left out,
    one recalled later is still out); `versions`: the register's entries on that day, when read already."""
    day = (on or date.today()).isoformat()
    known = versions if versions is not None else register.entries(connection, on=on)
    statuses = {(e.file_code, e.version): e.status for e in known}
    found = []
    for copy in register.copies(connection):
        if copy.distributed_on > day:
            continue
        if copy.recalled_on and copy.recalled_on > day:
            copy = replace(copy, recalled_on=None, recalled_by=None)
        status = statuses.get((copy.file_code, copy.version), "")
        out = copy.controlled and not copy.recalled_on
        found.append(Holding(copy, status, out and status in (SUPERSEDED, WITHDRAWN)))
    return found
