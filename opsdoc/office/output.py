"""Write documents as document control demands: deterministic bytes, atomic, never over an issued version."""

from __future__ import annotations

import io
import os
import re
import signal
import stat
import struct
import tempfile
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from opsdoc.errors import IssuedVersionExists, OutputError

# The earliest time a zip entry can carry; fixed so the same input gives the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
WINDOWS_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Control (Cc) and format (Cf: the bidi controls U+202A–202E, U+2066–2069, U+200E/F, U+061C,
# zero-width characters) characters: invisible in a file name, or reordering what is shown.
INVISIBLE = {"Cc", "Cf"}
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{n}" for port in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]
}
MAX_NAME_BYTES = 255


def deterministic_zip(data: bytes) -> bytes:
    """Re-pack an Office file with fixed entry times and attributes, keeping entry order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    return deterministic_package((entry.filename, source.read(entry.filename)) for entry in source.infolist())


def with_members(data: bytes, replaced: Mapping[str, bytes]) -> bytes:
    """The Office file with each entry named in `replaced` holding its new content, packed in one pass
    as deterministic_package packs.

    The other entries keep the compressed bytes they have: in a file deterministic_package
    wrote, they are what compressing them again would give.
    """
    if not replaced:
        return data
    source = zipfile.ZipFile(io.BytesIO(data))
    return deterministic_package(
        (entry.filename, replaced[entry.filename] if entry.filename in replaced else _packed(data, source, entry))
        for entry in source.infolist()
    )


def _packed(data: bytes, source: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Deflated | bytes:
    if entry.compress_type != zipfile.ZIP_DEFLATED:
        return source.read(entry)
    # The local header: 30 bytes, then the name and the extra field, whose lengths end it.
    name_length, extra_length = struct.unpack_from("<2H", data, entry.header_offset + 26)
    start = entry.header_offset + 30 + name_length + extra_length
    return Deflated(entry.file_size, entry.CRC, data[start : start + entry.compress_size])


@dataclass(frozen=True)
class Deflated:
    """An entry's content compressed as deterministic_package compresses it: a template part that is
    the same in every document is compressed once (its styles are 800 kB of XML) and written as it is."""

    size: int
    crc: int
    data: bytes


def deflated(content: bytes) -> Deflated:
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)  # zipfile's deflate settings
    return Deflated(len(content), zlib.crc32(content), packer.compress(content) + packer.flush())


def deflated_tree(root: Any) -> Deflated:
    """An XML part (an lxml element) serialized straight into its deflated form, as `deflated` of its text
    would give, without the whole text in memory at once (a 20,000-row body is 30 MB of it)."""
    from lxml import etree

    class Sink:
        def __init__(self) -> None:
            self.packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            self.size, self.crc, self.chunks = 0, 0, list[bytes]()

        def write(self, data: bytes) -> None:
            self.size += len(data)
            self.crc = zlib.crc32(data, self.crc)
            self.chunks.append(self.packer.compress(data))

    sink = Sink()
    etree.ElementTree(root).write(sink, xml_declaration=True, encoding="UTF-8", standalone=True)
    return Deflated(sink.size, sink.crc, b"".join(sink.chunks) + sink.packer.flush())


# The zip records deterministic_package writes: zipfile's layout for deflated entries of fixed
# time (ZIP_EPOCH) and attributes (-rw-r--r--, made on Unix).
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DEFLATE, _VERSION, _UNIX, _UTF8_NAME = 8, 20, 3, 0x800
_DOS_DATE = (ZIP_EPOCH[0] - 1980) << 9 | ZIP_EPOCH[1] << 5 | ZIP_EPOCH[2]
_DOS_TIME = ZIP_EPOCH[3] << 11 | ZIP_EPOCH[4] << 5 | ZIP_EPOCH[5] // 2
_LIMIT = (1 << 31) - 1  # beyond it zipfile would write zip64 records; no document comes near


def deterministic_package(members: Iterable[tuple[str, bytes | Deflated]]) -> bytes:
    """An Office file of these (name, content) entries, in this order, with fixed times and attributes.

    The bytes zipfile writes for them on Unix (and on every platform), written directly so a
    Deflated entry needs no compressing.
    """
    packed: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, content in members:
        entry = content if isinstance(content, Deflated) else deflated(content)
        if entry.size * 1.05 > _LIMIT:
            raise ValueError(f"{name}: too large for a zip without zip64 records")
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        # version needed, flags, method, time, date, CRC, sizes, name and extra field lengths
        sizes = (entry.crc, len(entry.data), entry.size)
        head = (_VERSION, 0, flags, _DEFLATE, _DOS_TIME, _DOS_DATE, *sizes, len(encoded), 0)
        packed += [_LOCAL.pack(b"PK\x03\x04", *head), encoded, entry.data]
        # made by, the same fields, comment length, disk, internal and external attributes, where the entry starts
        central += [_CENTRAL.pack(b"PK\x01\x02", _VERSION, _UNIX, *head, 0, 0, 0, 0o644 << 16, offset), encoded]
        offset += _LOCAL.size + len(encoded) + len(entry.data)
    directory = b"".join(central)
    count = len(central) // 2
    if offset + len(directory) > _LIMIT:
        raise ValueError("too large for a zip without zip64 records")
    return b"".join([*packed, directory, _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)])


def safe_file_name(stem: str, suffix: str = "") -> str:
    """A file name that means the same on every desktop: `stem` cut to fit, `suffix` kept whole.

    NFC (macOS writes NFD: two spellings would be two files with one visible name), no bidi
    or other invisible characters (U+202E can make "…cod.exe" look like "…exe.docx"), no
    characters Windows forbids, no Windows device name (CON, COM1.txt open the device), no
    trailing dot or space (Windows drops them), and at most 255 bytes in UTF-8 (the limit of
    ext4 and NTFS alike). The end of `stem` is what gets cut, so put the part that may
    be long (the project name) last and the version in `suffix`.
    """
    stem, suffix = _clean(stem), _clean(suffix)
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[: max(room, 1)].decode("utf-8", errors="ignore")
    name = (stem + suffix).rstrip(". ") or "_"
    device = name.partition(".")[0].rstrip(" ").upper()
    return "_" + name if device in WINDOWS_DEVICES or name.startswith(".") else name  # a leading dot hides it


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    kept = "".join(c for c in text if unicodedata.category(c) not in INVISIBLE)
    return WINDOWS_ILLEGAL.sub("_", kept).strip()


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


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
    # Ctrl-C or a terminating batch (SIGTERM) between the file's creation and the try below would leave it
    # behind: they are held while mkstemp makes it (it has Python code of its own after the file exists),
    # and raised inside the try, which removes it.
    held = _hold_interruptions()
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".opsdoc-", suffix=".tmp")
    except OSError as exc:
        _release_interruptions(held)
        raise OutputError(folder, f"无法在输出文件夹中写入文件（{exc.strerror}）") from exc
    try:
        _release_interruptions(held)
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


_INTERRUPTIONS = {signal.SIGINT, signal.SIGTERM}


def _hold_interruptions() -> set[int | signal.Signals] | None:
    """Hold Ctrl-C and SIGTERM (the main thread of a POSIX system only: where Python runs their handlers)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTIONS)


def _release_interruptions(held: set[int | signal.Signals] | None) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one that came meanwhile is raised here


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


class FileKind(StrEnum):
    """What a written file is to its reader: commands name each file they write with its kind."""

    DOCUMENT = "document"  # the 运维工作管理规范 .docx
    PDF = "pdf"  # its PDF
    REDLINE = "redline"  # the 对比稿 .docx
    REDLINE_PDF = "redline-pdf"
    ANNOTATED = "annotated"  # the annotated copy of a workbook
    CONTEXT = "context"  # the template context as JSON (--dump-context)
    WORKBOOK = "workbook"  # a blank or an imported workbook
    REGISTER = "register"  # the 受控文件清单.xlsx
    COPY = "copy"  # a copy handed out (register distribute)

    @property
    def label(self) -> str:
        return {
            "document": "规范",
            "pdf": "PDF",
            "redline": "对比稿",
            "redline-pdf": "对比稿 PDF",
            "annotated": "标注副本",
            "context": "模板上下文",
            "workbook": "工作簿",
            "register": "受控文件清单",
            "copy": "分发副本",
        }[self.value]


# What to do when a file of the same name holds other bytes, by what the file is: only a
# document can be an issued version; a copy, a dump or an export is simply an earlier one.
TAKEN = {
    FileKind.DOCUMENT: "已有内容不同的同名文档：若是此前生成、尚未发布的（例如先不带 --pdf 生成过，或工作簿又改过），"
    "确认后加 --force 覆盖；若是已发布的版本，请提升版本号",
    FileKind.PDF: "已有内容不同的同名 PDF：若是此前生成、尚未发布的，确认后加 --force 覆盖；若是已发布的版本，请提升版本号",
    FileKind.REDLINE: "已有内容不同的同名对比稿（此前生成的）：加 --force 用这次的覆盖",
    FileKind.REDLINE_PDF: "已有内容不同的同名对比稿 PDF（此前生成的）：加 --force 用这次的覆盖",
    FileKind.ANNOTATED: "已有标注副本（此前检查写的）：加 --force 用这次的结果覆盖；原工作簿不受影响",
    FileKind.CONTEXT: "已有内容不同的模板上下文文件：加 --force 覆盖",
    FileKind.WORKBOOK: "已有内容不同的工作簿（可能已经填写）：确需覆盖请加 --force",
    FileKind.REGISTER: "已有内容不同的受控文件清单（此前导出的）：加 --force 用这次的覆盖",
    FileKind.COPY: "已有内容不同的同名副本（可能是另一次分发的）：请换一个输出文件夹；确认无用后加 --force 覆盖",
}


@dataclass(frozen=True)
class Written:
    """A file a command published: what it is, where, and what publishing it did."""

    kind: FileKind
    path: Path
    status: Published


@dataclass(frozen=True)
class Planned:
    """A file judged writable: where it goes and what publishing it will do."""

    path: Path  # our name, or the file on disk that is the same name in another normalisation
    data: bytes
    status: Published
    force: bool = False
    kind: FileKind = FileKind.DOCUMENT


def guard_output(
    path: Path, data: bytes, *, inputs: Iterable[Path] = (), force: bool = False, kind: FileKind = FileKind.DOCUMENT
) -> Planned:
    """Judge one output before anything is written; raise if it must not be written.

    Refused: an input of the command (symlinks and hard links count), anything but a
    regular file at the name (a FIFO would block, a device would swallow the bytes; never
    opened), and, without force, a file with other bytes, with the advice that fits what the
    file is (TAKEN). A file whose name differs from ours only by Unicode normalisation is the
    same name to a reader.
    """
    path = _existing_spelling(Path(path))
    for source in inputs:
        if _same_file(path, Path(source)):
            raise OutputError(path, f"这是本命令的输入文件（{source}），不能作为输出：请换一个输出路径")
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.lexists(path):
            raise OutputError(path, "是指向不存在位置的链接，未写入：请删除它或换一个输出路径") from None
        return Planned(path, data, Published.WRITTEN, force, kind)
    except OSError as exc:
        raise OutputError(path, f"无法检查输出文件（{exc.strerror}）") from exc
    if not stat.S_ISREG(info.st_mode):
        what = "文件夹" if stat.S_ISDIR(info.st_mode) else "设备、管道等特殊文件"
        raise OutputError(path, f"输出位置已有一个{what}，不是普通文件，未写入：请换一个输出路径")
    if info.st_size == len(data) and path.read_bytes() == data:
        return Planned(path, data, Published.UNCHANGED, force, kind)
    if not force:
        raise IssuedVersionExists(path, TAKEN[kind])
    return Planned(path, data, Published.OVERWRITTEN, force, kind)


def _existing_spelling(path: Path) -> Path:
    """The file in path's folder with path's name up to normalisation (NFD from macOS), else path."""
    if os.path.lexists(path):
        return path
    try:
        names = os.listdir(path.parent)
    except OSError:  # no folder yet: nothing there to be the same name
        return path
    wanted = _nfc(path.name)
    return next((path.parent / name for name in sorted(names) if _nfc(name) == wanted), path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):  # both exist: a symlink or hard link is the same file
            return True
    except OSError:  # one does not exist (yet): compare where the names lead
        pass
    return _nfc(str(a.resolve())) == _nfc(str(b.resolve()))


def publish(planned: Planned) -> Published:
    """Write a judged file: a new one only if the name is still free, so racing builds never overwrite."""
    if planned.status is Published.UNCHANGED:
        return planned.status
    if planned.status is Published.OVERWRITTEN:
        write_atomic(planned.path, planned.data)
        return planned.status
    try:
        write_atomic(planned.path, planned.data, replace=False)
        return Published.WRITTEN
    except FileExistsError:  # another build took the name meanwhile: judge what it wrote
        return publish(guard_output(planned.path, planned.data, force=planned.force, kind=planned.kind))


class Outputs:
    """Every file one command writes: all judged before any is written, so all or none are.

    Commands add each output with its bytes (refusals are raised then, while nothing is
    written yet) and call write() once; write() publishes in the order added.
    """

    def __init__(self, *, inputs: Iterable[Path | None] = (), force: bool = False) -> None:
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.force = force
        self.planned: list[Planned] = []

    def add(self, kind: FileKind, path: Path, data: bytes) -> Planned:
        planned = guard_output(path, data, inputs=self.inputs, force=self.force, kind=kind)
        for earlier in self.planned:
            if _same_file(planned.path, earlier.path):
                raise OutputError(planned.path, "本命令的两个输出是同一个文件，未写入：请换一个输出路径")
        self.planned.append(planned)
        return planned

    def write(self) -> list[Written]:
        return [Written(planned.kind, planned.path, publish(planned)) for planned in self.planned]
