"""Where the archive keeps each version: the one mapping from 文件编码/版本号 to a folder, and the
one way a path the register holds is turned back into a file, never outside the archive.

issue, sync, verify and export all go through here, so two codes can never share a folder
(`QT/YW-001` and `QT_YW-001` once did) and a register row can never point the archive's
writes elsewhere (`../外部/伪.pdf`, a 文件编码 folder that is a symbolic link).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from opsdoc.errors import OpsdocError
from opsdoc.office.output import WINDOWS_DEVICES

# What may stand in a folder name as it is on every desktop: letters and digits of any script,
# and a few marks. Everything else (/ \ : * ? " < > |, %, spaces, control and invisible
# characters) is written %XX in UTF-8, so the name reads back to the exact value.
_KEPT_MARKS = "-_.()（）"
STAGING_PREFIX = ".opsdoc-staging-"  # issue's work folder inside the archive, removed when it ends
DISPOSING = "dispose-"  # a version folder being disposed of: STAGING_PREFIX + DISPOSING + its name


class UnsafeArchivePath(OpsdocError):
    """Raised when a path from the register would lead outside the archive or through a symbolic link."""


def folder_name(value: str) -> str:
    """A 文件编码 or 版本号 as one folder name: reversible (unquote gives the value back), so two values
    never share a folder; never hidden (no leading dot), never a Windows device name, no trailing dot."""
    name = "".join(c if c.isalnum() or c in _KEPT_MARKS else quote(c, safe="") for c in value)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if name.endswith("."):
        name = name[:-1] + "%2E"
    if name.partition(".")[0].upper() in WINDOWS_DEVICES:  # CON, NUL, COM1 … open the device on Windows
        name = f"%{ord(name[0]):02X}{name[1:]}"
    return name


def value_of(folder: str) -> str:
    """The 文件编码 or 版本号 a folder_name stands for."""
    return unquote(folder)


def collision_key(file_code: str) -> str:
    """Two codes with the same key would share a folder on a case-insensitive or normalising file
    system (Windows, macOS): the register refuses the second."""
    return unicodedata.normalize("NFKC", folder_name(unicodedata.normalize("NFC", file_code))).casefold()


def version_folder(file_code: str, version: str) -> str:
    """The version's folder, relative to the archive, with forward slashes."""
    return f"{folder_name(file_code)}/{folder_name(version)}"


def resolve(archive: Path, relative: str) -> Path:
    """The file a register path names, inside the archive and reached through no symbolic link.

    Raised for an absolute path, a `..`, or any existing part of the way that is a link: the
    archive's writes (stamps, moves) and its checks follow only what opsdoc itself laid out.
    """
    parts = PurePosixPath(relative).parts
    if (
        not parts
        or PurePosixPath(relative).is_absolute()
        or "\\" in relative
        or "\x00" in relative
        or any(p in ("..", ".", "") for p in parts)
    ):
        raise UnsafeArchivePath(archive, f"登记册中的路径「{relative}」不在归档文件夹内，未读写任何文件")
    path = archive
    for part in parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue  # not there (yet): what comes after cannot be a link either
        except OSError as exc:
            raise UnsafeArchivePath(path, f"无法检查归档路径（{exc.strerror}）") from None
        if stat.S_ISLNK(mode):
            raise UnsafeArchivePath(path, "是符号链接：归档中的文件和文件夹必须是真实的，未读写任何文件")
    return path


def read_regular(path: Path) -> bytes:
    """A file of the archive's content, read only when it is a regular file: a pipe would hang the
    release, a device or folder is not what the register recorded."""
    mode = os.lstat(path).st_mode  # FileNotFoundError when it is gone: the caller names it
    if not stat.S_ISREG(mode):
        raise UnsafeArchivePath(path, "不是普通文件（文件夹、管道或设备），与登记的文件不符：请从备份恢复")
    return path.read_bytes()


def contents(archive: Path) -> list[tuple[str, str]]:
    """Everything in the archive, relative and sorted, with what it is: "link", "folder", "file" or
    "special" (a pipe, a device). One walk, no link followed; a staging folder is listed, not its inside."""
    found: list[tuple[str, str]] = []
    for folder, folders, files in os.walk(archive, followlinks=False):
        for name in [*folders, *files]:
            path = Path(folder) / name
            mode = os.lstat(path).st_mode
            kind = (
                "link"
                if stat.S_ISLNK(mode)
                else "folder"
                if stat.S_ISDIR(mode)
                else "file"
                if stat.S_ISREG(mode)
                else "special"
            )
            found.append((path.relative_to(archive).as_posix(), kind))
        folders[:] = [name for name in folders if not name.startswith(STAGING_PREFIX)]
    return sorted(found)
