"""Write documents as document control demands: deterministic bytes, atomic, never over an issued version."""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from enum import StrEnum
from pathlib import Path

from opsdoc.errors import IssuedVersionExists, OutputError

# The earliest time a zip entry can carry; fixed so the same input gives the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
WINDOWS_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def deterministic_zip(data: bytes) -> bytes:
    """Re-pack an Office file with fixed entry times and attributes, keeping entry order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(entry.filename))
    return packed.getvalue()


def safe_file_name(name: str) -> str:
    """Replace characters Windows forbids in file names, so the name works on every desktop."""
    return WINDOWS_ILLEGAL.sub("_", name).strip().rstrip(".") or "_"


def ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(folder, f"无法创建输出文件夹（{exc.strerror}）") from exc


def write_atomic(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write via a temporary file in the target folder and rename: readers see old or new, never half.

    With replace=False the file is linked into place only if the name is still free, so two
    builds racing for one name can never overwrite each other.
    """
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(folder, "输出文件夹不存在")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".opsdoc-", suffix=".tmp")
    except OSError as exc:
        raise OutputError(folder, f"无法在输出文件夹中写入文件（{exc.strerror}）") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a document is shared
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
            os.unlink(temporary)
    except BaseException as exc:  # includes Ctrl-C: never leave the temporary file behind
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise
        if isinstance(exc, OSError):
            raise OutputError(path, f"无法写入（{exc.strerror}）：文件可能正被 Word/WPS 打开，请关闭后重试") from exc
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Published(StrEnum):
    """What publishing a file did."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the same bytes were already there
    OVERWRITTEN = "overwritten"  # other bytes were there, and --force was given

    @property
    def label(self) -> str:
        return {"written": "已生成", "unchanged": "内容相同，未改动", "overwritten": "已覆盖"}[self.value]


def publish(path: Path, data: bytes, *, force: bool = False) -> Published:
    """Write `data` to `path` unless an issued version with other bytes is there."""
    if not path.exists():
        try:
            write_atomic(path, data, replace=False)
            return Published.WRITTEN
        except FileExistsError:  # another build took the name meanwhile: judge what it wrote
            pass
    if path.is_file() and path.read_bytes() == data:
        return Published.UNCHANGED
    if not force:
        raise IssuedVersionExists(
            path, "已存在内容不同的同名文件（已发布的版本）：请提升版本号，或确认后使用 --force 覆盖"
        )
    write_atomic(path, data)
    return Published.OVERWRITTEN
