"""What falls due in a version's life after release: periodic review, recall, disposal.

A version in force is reviewed every `review_months` (opsdoc.toml, default 12) from its 生效日期
or its last recorded review; a review that finds it still fit is recorded (`review`), one that
finds it is not leads to a new version. A 作废 or 撤销 version is kept `retention_years` (default 3)
from that day; after that it may be disposed of (`dispose`): its register row stays, its files
are kept or removed as opsdoc.toml's `dispose_files` says.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from opsdoc.contract.conventions import Conventions, add_months
from opsdoc.contract.model import identifier
from opsdoc.contract.vocabulary import CURRENT, SUPERSEDED, WITHDRAWN
from opsdoc.control import register
from opsdoc.control.archive import DISPOSING, STAGING_PREFIX, resolve
from opsdoc.control.copies import holdings_in
from opsdoc.control.duties import Duty
from opsdoc.control.issue import all_or_nothing
from opsdoc.control.register import Entry, Register, Review, UnusableRegister, open_register, operator
from opsdoc.errors import IssuedVersionExists, OpsdocError

SOON_DAYS = 30  # a review due within this many days is listed as coming


@dataclass(frozen=True)
class Due:
    """One thing the 文控 has to do, and by when."""

    duty: Duty
    file_code: str
    version: str
    title: str
    by: str  # the day it is due (ISO)
    overdue: bool
    what: str  # in the 文控's words


def due(archive: Path, conventions: Conventions, on: date | None = None, soon: int = SOON_DAYS) -> list[Due]:
    """Reviews due by `on` + `soon` days, copies to recall, and 作废 versions past their retention."""
    today = on or date.today()
    horizon = today + timedelta(days=soon)
    found: list[Due] = []
    with open_register(archive) as connection:
        versions = register.entries(connection, on=today)
        reviewed = _last_reviews(connection, today)
        for entry in versions:
            if entry.disposed_at:
                continue
            if entry.status == CURRENT:
                last = max(entry.effective_on, reviewed.get((entry.file_code, entry.version), ""))
                by = add_months(date.fromisoformat(last), conventions.review_months)
                if by <= horizon:
                    since = "上次评审" if last != entry.effective_on else "生效"
                    found.append(
                        _due(
                            Duty.REVIEW,
                            entry,
                            by,
                            today,
                            f"{since}于 {last}，每 {conventions.review_months} 个月评审一次",
                        )
                    )
            elif entry.status in (SUPERSEDED, WITHDRAWN):
                ended = retention_start(entry)
                if ended is not None:
                    keep_until = add_months(ended, 12 * conventions.retention_years)
                    if keep_until <= today:
                        found.append(
                            _due(
                                Duty.DISPOSAL,
                                entry,
                                keep_until,
                                today,
                                f"{entry.status}于 {ended.isoformat()}，保存期限 {conventions.retention_years} 年已满，"
                                "可处置（opsdoc register dispose）",
                            )
                        )
        titles = {(e.file_code, e.version): e for e in versions}
        for holding in holdings_in(connection, today, versions):
            if holding.to_recall:
                copy = holding.copy
                entry = titles[(copy.file_code, copy.version)]
                since = (entry.superseded_at or entry.withdrawn_at or "")[:10] or today.isoformat()
                found.append(
                    Due(
                        Duty.RECALL,
                        copy.file_code,
                        copy.version,
                        entry.title,
                        since,
                        True,
                        f"分发号 {copy.number} 在 {copy.holder}{f'（{copy.department}）' if copy.department else ''}"
                        f"处，{copy.count} 份，版本已{holding.version_status}：请回收（opsdoc register recall）",
                    )
                )
    order = {Duty.RECALL: 0, Duty.REVIEW: 1, Duty.DISPOSAL: 2}
    return sorted(found, key=lambda d: (order[d.duty], d.by, d.file_code, d.version))


def _due(duty: Duty, entry: Entry, by: date, today: date, what: str) -> Due:
    return Due(duty, entry.file_code, entry.version, entry.title, by.isoformat(), by < today, what)


def _last_reviews(connection: Register, on: date) -> dict[tuple[str, str], str]:
    """The last review of each version recorded by `on`."""
    last: dict[tuple[str, str], str] = {}
    for review in (r for r in register.reviews(connection) if r.reviewed_on <= on.isoformat()):
        key = (review.file_code, review.version)
        last[key] = max(last.get(key, ""), review.reviewed_on)
    return last


def retention_start(entry: Entry) -> date | None:
    """The day a version stopped being in force: its retention runs from there."""
    day = (entry.superseded_at or entry.withdrawn_at or "")[:10]
    try:
        return date.fromisoformat(day)
    except ValueError:
        return None


def review(
    archive: Path,
    file_code: str,
    version: str,
    *,
    conclusion: str = "继续适用",
    on: date | None = None,
    by: str | None = None,
) -> Review:
    """Record a periodic review of the version in force that found it still fit."""
    file_code, version = identifier(file_code), identifier(version)
    day = on or date.today()
    if day > date.today():
        raise OpsdocError(None, f"评审日期 {day.isoformat()} 在今天之后：只能记录已经进行的评审")
    with open_register(archive) as connection:
        connection.lock()
        entry = register.registered(connection, archive, file_code, version, date.today())
        if entry.status != CURRENT:
            raise IssuedVersionExists(None, f"{version} 是{entry.status}版本：只有现行版本需要定期评审")
        if day.isoformat() < entry.effective_on:
            raise OpsdocError(None, f"评审日期 {day.isoformat()} 早于该版本的生效日期 {entry.effective_on}")
        found = Review(file_code, version, day.isoformat(), by or operator(), conclusion.strip() or "继续适用")
        register.add_review(connection, found)
        connection.commit()
    return found


def dispose(
    archive: Path,
    file_code: str,
    version: str,
    conventions: Conventions,
    *,
    by: str | None = None,
    now: datetime | None = None,
) -> Entry:
    """Dispose of a 作废 or 撤销 version whose retention has run out: the register row stays,
    marked with who and when; its files are removed only when the company's rule says so."""
    file_code, version = identifier(file_code), identifier(version)
    moment = now or datetime.now()
    with open_register(archive) as connection:
        connection.lock()
        staging: Path | None = None
        entry = register.registered(connection, archive, file_code, version, moment.date())
        if entry.disposed_at:
            raise IssuedVersionExists(None, f"{version} 已于 {entry.disposed_at[:10]} 由 {entry.disposed_by} 处置")
        ended = retention_start(entry)
        if entry.status not in (SUPERSEDED, WITHDRAWN) or ended is None:
            raise IssuedVersionExists(None, f"{version} 是{entry.status}版本：只有作废或撤销的版本可以处置")
        keep_until = add_months(ended, 12 * conventions.retention_years)
        if moment.date() < keep_until:
            raise IssuedVersionExists(
                None,
                f"{version} 的保存期限（{conventions.retention_years} 年）到 {keep_until.isoformat()} 才满，现在不能处置",
            )
        if entry.status == SUPERSEDED and not entry.void_pdf_path:
            raise IssuedVersionExists(None, f"{version} 的作废副本尚未生成：先运行 opsdoc register sync，再处置")
        out = [h.copy for h in holdings_in(connection, moment.date()) if h.to_recall]
        out = [c for c in out if (c.file_code, c.version) == (file_code, version)]
        if out:
            numbers = "、".join(str(c.number) for c in out)
            raise IssuedVersionExists(None, f"{version} 还有受控副本未回收（分发号 {numbers}）：先回收再处置")
        remove = conventions.dispose_files == "remove"
        with all_or_nothing(connection, archive) as undo:  # a failed commit moves the folder back
            register.dispose(
                connection,
                entry,
                at=moment.astimezone().isoformat(timespec="seconds"),
                by=by or operator(),
                files_removed=remove,
            )
            if remove:  # moved aside first, deleted once the disposal is committed
                folder = resolve(archive, entry.docx_path).parent  # where issue filed it, in any layout
                if not folder.is_dir():
                    raise UnusableRegister(folder, "该版本的归档文件夹不存在：请先用 opsdoc register verify 查明")
                staging = folder.with_name(f"{STAGING_PREFIX}{DISPOSING}{folder.name}")
                os.rename(folder, staging)
                undo.append((staging, folder))
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        disposed = register.registered(connection, archive, file_code, version, moment.date())
    return disposed
