"""Office files (.xlsx, .docx) as zip packages: what is safe to open, checked before any parsing."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from opsdoc.errors import OpsdocError

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"

# Limits far above any real workbook or specification (a 20k-row register is a few MB).
MAX_MEMBERS = 1_000  # files inside the package; Office writes a few dozen
MAX_MEMBER_BYTES = 256 * 2**20  # uncompressed size of one part
MAX_TOTAL_BYTES = 512 * 2**20  # uncompressed size of all parts
MAX_RATIO = 500  # compression ratio of a part over 1 MiB; XML compresses 10–50×, zip bombs 1000×+

# What reading a damaged package raises: zipfile's own errors (a bad CRC, a cut-off file), OSError and
# EOFError, RuntimeError (an encrypted part; an unknown compression method) and zlib.error (a corrupt
# deflate stream).
DAMAGED = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error)


@dataclass(frozen=True)
class Kind:
    """The words a message uses for one kind of Office file."""

    noun: str  # 工作簿, 文档
    suffix: str  # .xlsx, .docx
    legacy: str  # .xls, .doc
    application: str  # Excel/WPS, Word/WPS


WORKBOOK = Kind("工作簿", ".xlsx", ".xls", "Excel/WPS")
DOCUMENT = Kind("文档", ".docx", ".doc", "Word/WPS")


def open_package(path: Path, kind: Kind, error: type[OpsdocError]) -> set[str]:
    """The package's part names, once the file is known to be a safe zip; `error` otherwise.

    Checks the file itself, then the archive directory (member count, sizes, compression
    ratio: zipfile never yields more bytes than an entry declares, so declared sizes bound
    what parsing can produce), then refuses any DTD: OOXML parts never declare one, so one
    that does is an entity attack (billion laughs, external entities).
    """
    if not path.exists():
        raise error(path, "文件不存在")
    if path.is_dir():
        raise error(path, f"这是一个文件夹，请给出 {kind.suffix} {kind.noun}文件")
    if not path.is_file():  # a FIFO would block the read below forever, a device never end
        raise error(path, f"不是普通文件（设备或管道），请给出 {kind.suffix} {kind.noun}文件")
    with path.open("rb") as stream:
        head = stream.read(8)
    if not head:
        raise error(path, f"文件是空的（0 字节），请重新保存{kind.noun}")
    if head.startswith(OLE2_SIGNATURE):
        raise error(
            path,
            f"这是加密的{kind.noun}或旧版 {kind.legacy} 文件：请在 {kind.application} 中取消密码保护，并“另存为”{kind.suffix} 格式",
        )
    if not head.startswith(ZIP_SIGNATURE) or not zipfile.is_zipfile(path):
        raise error(
            path, f"不是 {kind.suffix} {kind.noun}（无法识别的文件格式），请用 {kind.application} 另存为 {kind.suffix}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes(path, members, kind, error)
            _refuse_dtds(path, archive, members, error)
    except DAMAGED as exc:
        raise error(path, f"{kind.noun}已损坏，无法打开（{exc}）") from None
    return {m.filename for m in members}


def _check_sizes(path: Path, members: list[zipfile.ZipInfo], kind: Kind, error: type[OpsdocError]) -> None:
    if len(members) > MAX_MEMBERS:
        raise error(path, f"压缩包内有 {len(members)} 个文件，超过上限 {MAX_MEMBERS}：不是正常的{kind.noun}")
    total = 0
    for member in members:
        size = member.file_size
        if size > MAX_MEMBER_BYTES:
            raise error(
                path, f"「{member.filename}」解压后 {size // 2**20} MB，超过上限 {MAX_MEMBER_BYTES // 2**20} MB"
            )
        if size > 2**20 and size > MAX_RATIO * max(member.compress_size, 1):
            raise error(path, f"「{member.filename}」的压缩比超过 {MAX_RATIO}:1，疑似压缩炸弹，已拒绝读取")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise error(path, f"{kind.noun}解压后共 {total // 2**20} MB，超过上限 {MAX_TOTAL_BYTES // 2**20} MB")


def _refuse_dtds(
    path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], error: type[OpsdocError]
) -> None:
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            with archive.open(member) as part:
                if b"<!DOCTYPE" in part.read(4096):
                    raise error(path, f"「{member.filename}」含有 DTD 声明（被禁止的 XML 结构），疑似恶意文件")
