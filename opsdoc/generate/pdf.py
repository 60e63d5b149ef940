"""Export a built .docx to PDF with LibreOffice, the table of contents showing real page numbers.

`soffice --convert-to pdf` prints the TOC field as stored, without page numbers. Through the
UNO API LibreOffice updates the TOC before exporting; UNO is importable only by the system
python3 (Debian python3-uno), so uno_export.py runs there as a subprocess, in a process group
of its own; it loads uno_job.py into LibreOffice, where each document is laid out and exported
without a round trip over the bridge per call. Each process keeps one such helper, and its LibreOffice, warm for every export it
makes (a batch worker for all its documents): starting LibreOffice costs seconds, a document
about one. A helper that dies (LibreOffice crashed or was killed) is replaced and the document
retried once; one that hangs past TIMEOUT_SECONDS is killed with its whole process group and
the document reported; the next document gets a new helper. LibreOffice's profile is kept in
~/.cache/opsdoc/libreoffice between runs (see _claim_profile). The helper ends with the process
that started it (closed at exit, and it quits by itself when its stdin closes).
When the user keeps LibreOffice warm with `opsdoc office` (opsdoc.generate.office), each export is
sent there over its socket instead, and no helper is started here: the same helper code with the
same fonts (helper_version), so the same PDF.
The entries it reads back go into the .docx's own TOC field too (write_toc), for viewers that
never update fields. PDF bytes are made reproducible, like the .docx: the same document gives
the same PDF.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import hashlib
import html
import io
import json
import multiprocessing.util
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, TypeAlias

from lxml import etree

from opsdoc.errors import LibreOfficeMissing, OpsdocError, PdfExportError, UnusableDocument
from opsdoc.generate.cache import cache_folder
from opsdoc.office.docx_text import modified_time
from opsdoc.office.output import with_members, write_atomic
from opsdoc.office.package import DAMAGED

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's python3, the one python3-uno installs into
HELPER = Path(__file__).with_name("uno_export.py")
JOB = Path(__file__).with_name("uno_job.py")  # loaded by the helper into LibreOffice
FONTS = Path(__file__).with_name("fonts.conf")
TIMEOUT_SECONDS = 180
INSTALL = "apt-get install libreoffice-writer-nogui python3-uno fonts-noto-cjk"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
Element: TypeAlias = Any  # an lxml element: lxml ships no type information
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TocEntry:
    level: int  # 1 for a chapter (Heading 1), 2 for a sub-section
    number: str  # "6.1"; "" for an unnumbered heading
    title: str
    page: int

    @property
    def text(self) -> str:
        """The entry as the template's TOC shows it: number, ideographic space, title."""
        return f"{self.number}\u3000{self.title}" if self.number else self.title


@dataclass(frozen=True)
class Archival:
    """Ask for PDF/A-2b (the archive format of ISO 19005-2) with these keywords in its metadata."""

    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaidOut:
    """What LibreOffice's layout tells of a document: its TOC, and the pages its body section counts."""

    toc: list[TocEntry]
    section_pages: int | None  # 共 M 页 (SECTIONPAGES); None for a document without the field


def export_pdf(
    docx_path: Path | str, pdf_path: Path | str, progress: Progress | None = None, archival: Archival | None = None
) -> LaidOut:
    """Write `pdf_path` (atomically) from the .docx, and return its TOC and page count as LibreOffice laid it out.

    With `archival` the PDF is PDF/A-2b; title and subject come from the .docx's properties.

    The .docx is not changed; pass the result to write_toc and write_section_pages for that. Raises UnusableDocument
    for a file that is not a .docx, LibreOfficeMissing (with the apt-get line) when LibreOffice,
    python3-uno or the CJK fonts are missing, and PdfExportError when the conversion fails, takes
    longer than TIMEOUT_SECONDS, or LibreOffice dies on the document twice. Nothing is written then.
    """
    docx_path = Path(docx_path)
    # Read first: a file that is not a .docx gets its clear message, and the PDF is dated from
    # the document (the last 批准日期 for an opsdoc build), not from the clock.
    created = modified_time(docx_path)
    laid, data = _exported(docx_path.read_bytes(), docx_path, created, progress, archival)
    write_atomic(Path(pdf_path), data)
    return laid


def pdf_of(data: bytes, progress: Progress | None = None, archival: Archival | None = None) -> tuple[LaidOut, bytes]:
    """export_pdf for a .docx held in memory (opsdoc's own): how LibreOffice laid it out, and the PDF's bytes."""
    return _exported(data, None, modified_time(data), progress, archival)


def _exported(
    docx: bytes, where: Path | None, created: datetime | None, progress: Progress | None, archival: Archival | None
) -> tuple[LaidOut, bytes]:
    soffice = requirements()
    options = {"archival": True, "keywords": list(archival.keywords)} if archival else {}
    with tempfile.TemporaryDirectory(prefix="opsdoc-pdf-") as work:
        lines, section_pages, target = _convert(for_layout(docx), where, soffice, Path(work), progress, options)
        if not target.is_file():
            raise PdfExportError(where, "LibreOffice 没有生成 PDF")
        data = reproducible_pdf(target.read_bytes(), created or datetime(1980, 1, 1))
    entries = [_entry(where, style, text) for style, text in lines if text.strip()]
    return LaidOut(entries, section_pages), data


def convert_to_docx(source: Path, folder: Path) -> Path:
    """A Word 97-2003 .doc or a WPS .wps as a .docx, converted by LibreOffice into `folder`.

    Raises LibreOfficeMissing (with the apt-get line) and UnusableDocument when LibreOffice cannot read it.
    """
    soffice = requirements()
    claimed = _claim_profile()  # a profile LibreOffice made before starts in seconds, not ten
    profile = claimed[0] if claimed else folder / "profile"
    try:
        result = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "docx:MS Word 2007 XML",
                "--outdir",
                str(folder),
                str(source.resolve()),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise PdfExportError(source, f"LibreOffice 转换 .docx 超过 {TIMEOUT_SECONDS} 秒，已放弃") from None
    finally:
        if claimed:
            claimed[1].close()
    converted = folder / f"{source.stem}.docx"
    if not converted.is_file():
        said = (result.stderr or result.stdout).strip().splitlines()
        raise UnusableDocument(source, f"LibreOffice 无法把它转换为 .docx（{said[-1] if said else '没有输出'}）")
    return converted


def warm_up() -> None:
    """Start this process's LibreOffice now, so it starts while the workbook is read and rendered; not
    when `opsdoc office` keeps one warm. Missing requirements are left for export_pdf to report.
    """
    if office_answers():
        return
    with contextlib.suppress(OpsdocError), _OFFICE_LOCK:
        _office(requirements())


@functools.cache
def _requirements_of(soffice: str | None, python: Path) -> str:
    if not soffice:
        raise LibreOfficeMissing(None, f"导出 PDF 需要 LibreOffice：请安装（{INSTALL}）")
    if not python.is_file():
        raise LibreOfficeMissing(None, f"导出 PDF 需要系统自带的 {python} 和 python3-uno：请安装（{INSTALL}）")
    fc_list = shutil.which("fc-list")
    if fc_list:
        families = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30).stdout
        if "Noto Sans CJK SC" not in families or "Noto Serif CJK SC" not in families:
            raise LibreOfficeMissing(None, f"导出 PDF 需要中文字体 Noto Sans/Serif CJK SC：请安装（{INSTALL}）")
    return soffice


def requirements() -> str:
    # Checked once per process (a batch worker asks for every document); failures are not cached.
    return _requirements_of(shutil.which("soffice") or shutil.which("libreoffice"), SYSTEM_PYTHON)


def _claim_profile() -> tuple[Path, IO[str]] | None:
    """A LibreOffice profile kept between runs, for one helper at a time; None if the cache is not writable.

    LibreOffice's first start with a new profile takes seconds longer than with one it made
    before (3.8–4.9 s against 8.1 s measured here). Two LibreOffices must never share a
    profile: slot N is held by an flock on profile-N.lock, which the helper keeps (and so
    holds until it and its LibreOffice are gone).
    """
    try:
        folder = office_folder()
        for slot in range(64):
            lock = (folder / f"profile-{slot}.lock").open("a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            return folder / f"profile-{slot}", lock
    except OSError:
        pass
    return None


class Helper:
    """One uno_export.py server and its LibreOffice, in a process group of their own."""

    def __init__(self, soffice: str):
        self.key = (soffice, SYSTEM_PYTHON)
        self.owner = os.getpid()  # a forked child must not use (or close) its parent's helper
        self.work = tempfile.mkdtemp(prefix="opsdoc-pdf-")
        claimed = _claim_profile()
        self.lock: IO[str] | None = claimed[1] if claimed else None
        profile = claimed[0] if claimed else Path(self.work) / "profile"  # a temporary one, gone at close
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the helper; close() closes it
        self.process = subprocess.Popen(
            [str(SYSTEM_PYTHON), "-I", str(HELPER), soffice, str(profile)],
            pass_fds=(self.lock.fileno(),) if self.lock else (),  # the helper holds the profile while it lives
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            encoding="utf-8",
            env={**os.environ, "FONTCONFIG_FILE": str(FONTS)},
            start_new_session=True,
        )

    def usable(self, soffice: str) -> bool:
        return self.key == (soffice, SYSTEM_PYTHON) and self.process.poll() is None

    def convert(self, request: dict[str, Any], progress: Progress | None, timeout: float) -> dict[str, Any]:
        """The helper's answer to one request; {"error": "timeout"} once it was killed for taking too long,
        {} when it ended without an answer."""
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self.kill()

        timer = threading.Timer(timeout, expire)
        timer.start()
        outcome: dict[str, Any] = {}
        try:
            assert self.process.stdin is not None and self.process.stdout is not None
            with contextlib.suppress(BrokenPipeError):  # the helper died: seen as no answer below
                self.process.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
                self.process.stdin.flush()
            for line in self.process.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # only JSON lines are the helper's; anything else is noise
                if "progress" in message:
                    if progress:
                        progress(message["progress"])
                else:
                    outcome = message
                    break
        finally:
            timer.cancel()
        return {"error": "timeout"} if timed_out.is_set() else outcome

    def last_error(self) -> str | None:
        self.errors.seek(0)
        lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else None

    def kill(self) -> None:
        """End the helper and every LibreOffice process it started (they share its process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # all gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        """Ask the helper to quit LibreOffice (end of its stdin), then make sure nothing is left.

        A Ctrl-C while it quits (at exit, after the work is done) only makes the end quicker:
        the processes are killed at once, and no traceback follows the last line printed.
        """
        with contextlib.suppress(OSError):
            if self.process.stdin:
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
            self.process.wait(timeout=10)
        self.kill()
        if self.process.stdout:
            self.process.stdout.close()
        self.errors.close()
        if self.lock:
            self.lock.close()
        shutil.rmtree(self.work, ignore_errors=True)


_helper: Helper | None = None
_closing_registered = False


_OFFICE_LOCK = threading.RLock()  # this process's LibreOffice helper serves one conversion at a time


def office_folder() -> Path:
    """The folder of this user's LibreOffice profiles and `opsdoc office`'s socket, made this user's only."""
    folder = cache_folder("libreoffice")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid == os.getuid():
        folder.chmod(0o700)
    return folder


def office_address() -> Path:
    """Where `opsdoc office` (opsdoc.generate.office) listens: one per user, as the LibreOffice profiles are.
    Only looked at here: a client makes nothing, and trusts only a socket and an office of its own user."""
    return cache_folder("libreoffice") / "office.sock"


def office_answers() -> bool:
    """Whether an `opsdoc office` of this opsdoc is listening."""
    return _warm({"ping": True}, None, 5) == {"pong": True}


def _warm(message: dict[str, Any], progress: Progress | None, timeout: float) -> dict[str, Any] | None:
    """The warm LibreOffice's answer to one export; None when no `opsdoc office` of this user listens.
    {"error": "office-gone"} when one was reached but gave no answer (it may still be working on it)."""
    path = office_address()
    try:
        found = path.lstat()
    except OSError:
        return None
    if not stat.S_ISSOCK(found.st_mode) or found.st_uid != os.getuid():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        try:
            connection.settimeout(timeout)
            connection.connect(str(path))
            _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            if uid != os.getuid():  # only an office of this user is given this user's files
                return None
        except OSError:
            return None
        try:
            message = {**message, "helper": helper_version()}
            connection.sendall((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
            with connection.makefile("r", encoding="utf-8") as answers:
                for line in answers:
                    said = json.loads(line)
                    if "progress" not in said:
                        return dict(said)
                    if progress:
                        progress(said["progress"])
        except (OSError, ValueError):
            pass
    return {"error": "office-gone"}


@functools.cache
def helper_version() -> str:
    """What makes a helper's PDF what it is (its code, the fonts it is given, the LibreOffice it runs):
    `opsdoc office` serves only requests of an opsdoc whose helper is the same, so its PDFs are theirs
    byte for byte."""
    soffice = Path(os.path.realpath(requirements()))
    program = f"{soffice}:{soffice.stat().st_size}:{soffice.stat().st_mtime_ns}".encode()
    return hashlib.sha256(HELPER.read_bytes() + JOB.read_bytes() + FONTS.read_bytes() + program).hexdigest()


def _office(soffice: str) -> Helper:
    """This process's helper, started (or replaced, if it died) as needed."""
    global _helper, _closing_registered
    if _helper is not None and _helper.owner == os.getpid() and _helper.usable(soffice):
        return _helper
    close_office()
    _helper = Helper(soffice)
    if not _closing_registered:
        atexit.register(close_office)
        # A ProcessPoolExecutor worker ends without running atexit; multiprocessing runs these.
        multiprocessing.util.Finalize(None, close_office, exitpriority=10)
        _closing_registered = True
    return _helper


def close_office() -> None:
    """Quit this process's LibreOffice, if it has one."""
    global _helper
    helper, _helper = _helper, None
    if helper is not None and helper.owner == os.getpid():
        helper.close()


def _convert(
    docx: bytes, where: Path | None, soffice: str, work: Path, progress: Progress | None, options: dict[str, Any]
) -> tuple[list[Any], int | None, Path]:
    """The TOC lines, the body's page count and the PDF LibreOffice wrote into `work`; a second try if LibreOffice died.

    One conversion at a time per process: the helper answers requests in turn over one pipe, and the web
    page's threads (opsdoc serve) would otherwise interleave theirs."""
    with _OFFICE_LOCK:
        return _convert_alone(docx, where, soffice, work, progress, options)


def _convert_alone(
    docx: bytes, where: Path | None, soffice: str, work: Path, progress: Progress | None, options: dict[str, Any]
) -> tuple[list[Any], int | None, Path]:
    def staged(name: str) -> tuple[dict[str, Any], Path]:
        """A folder per attempt: a LibreOffice that was reached but gave no answer may still write the
        PDF into the first one while the retry writes its own."""
        folder = work / name
        folder.mkdir()
        source, target = folder / "document.docx", folder / "document.pdf"
        source.write_bytes(docx)
        return {"docx": str(source), "pdf": str(target), "options": options}, target

    for attempt in (1, 2):
        request, target = staged(str(attempt))
        warm = _warm(request, progress, TIMEOUT_SECONDS)  # `opsdoc office`'s LibreOffice, if one runs
        if warm is not None and "toc" in warm:
            return warm["toc"], warm.get("section_pages"), target
        if warm is not None and warm.get("error") in ("failed", "timeout"):  # the document's fault, not its
            why = warm.get("message") or f"在 {TIMEOUT_SECONDS} 秒内没有完成转换，已终止"
            raise PdfExportError(where, f"LibreOffice 转换失败：{why}")
        if warm is not None:  # reached but no answer: it may still write there, so this one works elsewhere
            request, target = staged(f"{attempt}-here")
        helper = _office(soffice)  # none runs (or it went away): this process's own
        outcome = helper.convert(request, progress, TIMEOUT_SECONDS)
        if "toc" in outcome:
            toc: list[Any] = outcome["toc"]
            return toc, outcome.get("section_pages"), target
        error = outcome.get("error")
        if error == "failed" and helper.process.poll() is None:  # this document failed, LibreOffice lives on
            raise PdfExportError(where, f"LibreOffice 转换失败：{outcome.get('message')}")
        why = outcome.get("message") or helper.last_error()
        close_office()
        if error == "timeout":
            raise PdfExportError(where, f"LibreOffice 在 {TIMEOUT_SECONDS} 秒内没有完成转换，已终止")
        if error == "no-uno":
            raise LibreOfficeMissing(None, f"导出 PDF 需要 LibreOffice 的 Python 接口 python3-uno：请安装（{INSTALL}）")
        if error == "failed":  # LibreOffice did not start
            raise PdfExportError(where, f"LibreOffice 转换失败：{why}")
        if attempt == 1 and progress:
            progress("LibreOffice 意外退出，正在重新启动…")
    raise PdfExportError(where, f"LibreOffice 在转换这份文档时两次退出：{why or '没有说明'}")


# <w:tblStyle w:val="…"/> with any prefix and either quote, in a part's bytes (no tree: a 20,000-row
# body is 30 MB); a match that is not one only keeps a style more.
TABLE_STYLE_REFERENCE = re.compile(
    rb"""<(?:[\w.-]+:)?tblStyle\s[^>]*?\b(?:[\w.-]+:)?val\s*=\s*(?:"([^"]*)"|'([^']*)')"""
)
STYLES = re.compile(r"(^|/)styles\w*\.xml$", re.IGNORECASE)  # styles.xml and Word 2010's stylesWithEffects.xml
UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
LINKS = (f"{{{W}}}basedOn", f"{{{W}}}next", f"{{{W}}}link")  # how a style names another
CACHED_STYLES = 2 << 20  # a template's styles.xml is kept for the next document up to this size


def for_layout(docx: bytes) -> bytes:
    """The copy of the .docx that LibreOffice lays out: without the table styles no table uses.

    Word saves its whole gallery of table styles into a document (a hundred, 310 KB of the sample
    template's styles.xml) and LibreOffice imports every one: 36 ms of its 0.43 s a document measured
    here, for tables that use one or two. Kept: the table styles any part names, the default one and
    those they are based on, so the layout and the PDF are the same (tested byte for byte). Only
    LibreOffice's copy: the .docx opsdoc writes keeps every style of the template. A package this
    does not read (damaged, without word/styles.xml, with UTF-16 parts) is handed on as it is.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as package:
            used: set[str] = set()
            for name in package.namelist():  # every part but the styles' own: the main one, whatever its name,
                if STYLES.search(name):  # headers, footers, notes, comments; text boxes are inside them
                    continue
                part = package.read(name)
                if part.startswith(UTF16):  # not searched as bytes: no slimming rather than a style lost
                    return docx
                used |= _names(part)
            styles = package.read("word/styles.xml")
            slim = (_slimmed if len(styles) > CACHED_STYLES else _slimmed_kept)(styles, frozenset(used))
    except (KeyError, *DAMAGED):
        return docx  # LibreOffice reads it as it is, and says what is wrong with it, if anything is
    return docx if slim is None else with_members(docx, {"word/styles.xml": slim})


def _names(part: bytes) -> set[str]:
    """The table styles a part names, as written and with entities read (the one that is meant is kept)."""
    written = {(double or single).decode("utf-8", "replace") for double, single in TABLE_STYLE_REFERENCE.findall(part)}
    return written | {html.unescape(name) for name in written}


def _slimmed(styles: bytes, used: frozenset[str]) -> bytes | None:
    """styles.xml without the table styles that are not `used`, not the default one, not named by another
    style and not what a kept one is based on; None when none would be removed or it does not parse."""
    try:
        root = etree.fromstring(styles)
    except etree.XMLSyntaxError:
        return None
    tables: dict[str | None, list[Element]] = {}
    kept = set(used) | _names(styles)  # a table style's own properties may name another
    for style in root.iter(f"{{{W}}}style"):  # iter: a style inside mc:AlternateContent too
        if style.get(f"{{{W}}}type") == "table":
            tables.setdefault(style.get(f"{{{W}}}styleId"), []).append(style)
            if style.get(f"{{{W}}}default") not in (None, "0", "false", "off"):
                kept.add(style.get(f"{{{W}}}styleId") or "")
        else:  # a paragraph style's basedOn, next or link naming a table style keeps it
            kept |= {link.get(f"{{{W}}}val") or "" for link in style.iterchildren(*LINKS)}
    pending = list(kept)
    while pending:  # the styles they are based on, and theirs
        for style in tables.get(pending.pop(), []):
            for base in style.iterchildren(f"{{{W}}}basedOn"):
                if (parent := base.get(f"{{{W}}}val") or "") not in kept:
                    kept.add(parent)
                    pending.append(parent)
    unused = [style for name, group in tables.items() if name not in kept for style in group]
    if not unused:
        return None
    for style in unused:
        style.getparent().remove(style)
    slim: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return slim


_slimmed_kept = functools.lru_cache(maxsize=4)(_slimmed)  # a batch's documents come from one template


def _entry(where: Path | None, style: str, text: str) -> TocEntry:
    """'6.1 预算管理\\t9' in paragraph style 'Contents 2' → TocEntry(2, "6.1", "预算管理", 9)."""
    head, _, page = text.rpartition("\t")
    if not page.strip().isdigit():
        raise PdfExportError(where, f"目录项「{text.strip()}」没有页码")
    level = re.search(r"(\d+)$", style)
    numbered = re.fullmatch(r"(\d+(?:\.\d+)*)\s*(.*)", head.strip())
    number, title = numbered.groups() if numbered else ("", head.strip())
    return TocEntry(int(level.group(1)) if level else 1, number, title.strip(), int(page))


def reproducible_pdf(data: bytes, created: datetime) -> bytes:
    """LibreOffice's PDF with the creation time set to `created` and the file ID taken from the content.

    Every replacement keeps the byte length, so the cross-reference offsets stay valid, except
    in the streams _settled_streams rewrites, which are rewritten with their offsets.
    """
    data = _settled_streams(data, created)
    data = re.sub(rb"(/CreationDate\(D:)\d{14}", lambda m: m.group(1) + created.strftime("%Y%m%d%H%M%S").encode(), data)
    # PDF/A's XMP repeats the creation time in ISO form; the time zone suffix keeps its length.
    data = re.sub(
        rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
        lambda m: m.group(1) + created.strftime("%Y-%m-%dT%H:%M:%S").encode(),
        data,
    )
    # Two patterns, not one with an alternative: each starts with a literal the search skips to (6 ms less).
    trailer_id = re.compile(rb"(/ID\s*\[\s*<)[0-9A-Fa-f]{32}(>\s*<)[0-9A-Fa-f]{32}(>)")
    checksum = re.compile(rb"(/DocChecksum\s*/)[0-9A-Fa-f]{32}")
    digest = hashlib.md5(checksum.sub(b"", trailer_id.sub(b"", data))).hexdigest().upper().encode()
    data = trailer_id.sub(lambda m: m.group(1) + digest + m.group(2) + digest + m.group(3), data)
    return checksum.sub(lambda m: m.group(1) + digest, data)


FONT_STREAM = re.compile(
    rb"<</Length (\d+) 0 R/Filter/FlateDecode/Length1 (\d+)/Length2 (\d+)/Length3 \d+>>\r?\nstream\r?\n"
)
UNIQUE_ID = re.compile(rb"/UniqueID (\d{7}) def")
FIRST_UNIQUE_ID = 4100001  # LibreOffice's first number (vcl's font subsetter)
ICC_STREAM = re.compile(rb"<</N [134]/Length (\d+) 0 R/Filter/FlateDecode>>\r?\nstream\r?\n")  # PDF/A's output intent


def _settled_streams(data: bytes, created: datetime) -> bytes:
    """The PDF's streams as a freshly started LibreOffice would write them at `created`.

    Fonts: LibreOffice gives every Type 1 font subset it embeds a /UniqueID from a counter that
    lives as long as LibreOffice: a warm one numbers the next document's fonts on from the last.
    The number sits in the clear part and in the eexec-encrypted private dictionary of each font;
    both are set to what a first export gives. The ICC profile of a PDF/A's output intent: lcms
    stamps it with the clock when LibreOffice makes it; it is dated `created`. Each stream changed
    is recompressed as LibreOffice compresses (zlib level 6, memLevel 9: the same bytes as its own),
    its /Length object and the cross-reference offsets updated. A PDF with nothing to settle is
    returned unchanged.
    """
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement), in file order
    lengths: dict[bytes, int] = {}  # length object number → new length

    def stream(match: re.Match[bytes]) -> tuple[bytes, int]:
        """The stream's content, and where its compressed bytes end (0 for one that does not end)."""
        reader = zlib.decompressobj()
        content = reader.decompress(memoryview(data)[match.end() :])  # not a copy of the rest of the file
        return content, len(data) - len(reader.unused_data) if reader.eof else 0

    def rewrite(match: re.Match[bytes], end: int, content: bytes) -> None:
        packer = zlib.compressobj(6, zlib.DEFLATED, 15, 9)
        packed = packer.compress(content) + packer.flush()
        edits.append((match.end(), end, packed))
        lengths[match.group(1)] = len(packed)

    wanted = FIRST_UNIQUE_ID
    for match in FONT_STREAM.finditer(data):
        content, end = stream(match)
        found = UNIQUE_ID.search(content)
        if not end or found is None:
            continue
        number, wanted = b"%d" % wanted, wanted + 1
        if found.group(1) != number:
            clear, secret = int(match.group(2)), int(match.group(3))
            renumbered = _renumbered(content[clear : clear + secret], number)
            rewrite(
                match,
                end,
                UNIQUE_ID.sub(b"/UniqueID " + number + b" def", content[:clear])
                + renumbered
                + content[clear + secret :],
            )
    for match in ICC_STREAM.finditer(data):
        content, end = stream(match)
        if end and content[36:40] == b"acsp" and content[24:36] != (dated := _icc_date(created)):
            rewrite(match, end, _icc_with_id(content[:24] + dated + content[36:]))
    if not edits:
        return data
    for name, length in lengths.items():
        found = re.search(rb"\n" + name + rb" 0 obj\r?\n(\d+)", data)
        if found is None:
            raise PdfExportError(None, "LibreOffice 生成的 PDF 结构无法识别")
        edits.append((found.start(1), found.end(1), b"%d" % length))
    edits.sort()

    def moved(offset: int) -> int:
        return offset + sum(len(new) - (end - start) for start, end, new in edits if end <= offset)

    table = data.rindex(b"\nxref\n") + 1
    pieces, at = [], 0
    for start, end, new in edits:
        pieces += [data[at:start], new]
        at = end
    pieces.append(data[at:table])
    head = moved(table)
    xref = re.sub(rb"(?m)^(\d{10})( \d{5} n)", lambda m: b"%010d" % moved(int(m.group(1))) + m.group(2), data[table:])
    xref = re.sub(rb"(startxref\s+)(\d+)", lambda m: m.group(1) + b"%d" % head, xref)
    return b"".join(pieces) + xref


def _icc_date(created: datetime) -> bytes:
    """An ICC profile header's dateTimeNumber (ICC.1 4.2): six big-endian 16-bit fields."""
    return struct.pack(">6H", created.year, created.month, created.day, created.hour, created.minute, created.second)


def _icc_with_id(profile: bytes) -> bytes:
    """The profile with its profile ID (ICC.1 7.2.18) computed again, when it has one: the MD5 of the
    profile with its flags, rendering intent and ID zeroed. An ID of zeros means none was computed."""
    if not any(profile[84:100]):
        return profile
    zeroed = profile[:44] + bytes(4) + profile[48:64] + bytes(4) + profile[68:84] + bytes(16) + profile[100:]
    return profile[:84] + hashlib.md5(zeroed).digest() + profile[100:]


# Type 1 eexec encryption (Adobe Type 1 Font Format, 7.2): each byte is xored with the high byte
# of a key that then moves on with the cipher byte, key' = (cipher + key)·52845 + 22719 mod 2¹⁶.
EEXEC_KEY = 55665
_NEXT_KEY = [(x * 52845 + 22719) & 0xFFFF for x in range(0x10000 + 0x100)]  # indexed by cipher + key


def _eexec_decrypt(secret: bytes) -> bytes:
    plain, key = bytearray(len(secret)), EEXEC_KEY
    for i, cipher in enumerate(secret):
        plain[i] = cipher ^ (key >> 8)
        key = _NEXT_KEY[cipher + key]
    return bytes(plain)


def _renumbered(secret: bytes, number: bytes) -> bytes:
    """The encrypted private dictionary with its /UniqueID set to `number` (as long as the old one).

    The key chains through every cipher byte, so all that follows the number is encrypted anew.
    In one pass: the old key stream decrypts, the new one encrypts, a byte's new cipher is its
    old one xor both keys. LibreOffice writes the number in the first few hundred bytes.
    """
    found = UNIQUE_ID.search(_eexec_decrypt(secret[:4096])) or UNIQUE_ID.search(_eexec_decrypt(secret))
    if found is None:
        return secret
    at, next_key = found.start(1), _NEXT_KEY  # a local name: this loop runs for every byte of the font
    key = EEXEC_KEY
    for cipher in secret[:at]:
        key = next_key[cipher + key]
    old = new = key
    renewed = bytearray(secret[:at])
    append = renewed.append
    for digit, cipher in zip(number, secret[at : at + len(number)], strict=True):
        recast = digit ^ (new >> 8)
        append(recast)
        old = next_key[cipher + old]
        new = next_key[recast + new]
    for cipher in secret[at + len(number) :]:
        recast = cipher ^ ((old ^ new) >> 8)
        append(recast)
        old = next_key[cipher + old]
        new = next_key[recast + new]
    return bytes(renewed)


# ---------------------------------------------------------------- the TOC field of the .docx


def write_toc(data: bytes, entries: Sequence[TocEntry]) -> bytes:
    """The .docx with `entries` as its TOC field's stored result, one paragraph per entry.

    Each line is "number　title", a tab (the TOC styles' dot leader) and the page number. The
    field itself stays, so Word still refreshes it. A document without a TOC field is returned
    unchanged. Deterministic: the same bytes and entries give the same bytes.
    """
    package = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(package.read("word/document.xml"))
    field = _toc_field(root)
    if field is None:
        return data
    begin, separate, end = field
    first, last = _paragraph(begin), _paragraph(end)
    if _paragraph(separate) is not first or first.getparent() is not last.getparent():
        raise PdfExportError(None, "文档的目录域结构无法识别，未写入页码")
    styles = package.read("word/styles.xml")
    style_ids = (_toc_style_ids if len(styles) > CACHED_STYLES else _toc_style_ids_kept)(styles)
    runs: list[Element] = list(first)
    lead = runs[: runs.index(_run(separate)) + 1]  # field begin, instruction, separator (and anything before)
    runs = list(last)
    tail = runs[runs.index(_run(end)) :]  # field end (and anything after)
    section = last.find(f"{{{W}}}pPr/{{{W}}}sectPr")

    paragraphs = [_toc_paragraph(entry, style_ids) for entry in entries] or [etree.Element(f"{{{W}}}p")]
    for run in reversed([r for r in lead if r.tag != f"{{{W}}}pPr"]):
        _after_properties(paragraphs[0], run)
    paragraphs[-1].extend(tail)
    if section is not None:
        _properties(paragraphs[-1]).append(section)

    parent = first.getparent()
    siblings = list(parent)
    replaced = siblings[siblings.index(first) : siblings.index(last) + 1]
    for paragraph in paragraphs:
        first.addprevious(paragraph)
    for old in replaced:
        parent.remove(old)

    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return with_members(data, {"word/document.xml": document})


def write_section_pages(data: bytes, count: int | None) -> bytes:
    """The .docx with `count` as the stored result of every SECTIONPAGES field of its headers and footers
    (共 M 页), so that a viewer which does not compute the field (LibreOffice) shows what the PDF shows.
    The field stays, so Word still computes it. Unchanged for None or a document without the field."""
    if count is None:
        return data
    package = zipfile.ZipFile(io.BytesIO(data))
    parts: dict[str, bytes] = {}
    for name in sorted(n for n in package.namelist() if re.fullmatch(r"word/(header|footer)\d*\.xml", n)):
        if b"SECTIONPAGES" not in (part := package.read(name)):
            continue
        root = etree.fromstring(part)
        if _put_field_results(root, "SECTIONPAGES", str(count)):
            parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return with_members(data, parts)


def _put_field_results(root: Element, code: str, value: str) -> bool:
    """Each field `code` in `root` (begin/separate/end, switches such as \\* MERGEFORMAT allowed) shows
    `value`: its first result text becomes it, the rest is emptied."""
    changed, state = False, ""
    for element in root.iter(f"{{{W}}}fldChar", f"{{{W}}}instrText", f"{{{W}}}t"):
        if element.tag == f"{{{W}}}fldChar":
            kind = element.get(f"{{{W}}}fldCharType")
            state = {"begin": "code", "separate": "result" if state == "wanted" else "", "end": ""}.get(kind, state)
        elif element.tag == f"{{{W}}}instrText" and state == "code" and (element.text or "").split()[:1] == [code]:
            state = "wanted"
        elif element.tag == f"{{{W}}}t" and state == "result":
            element.text, value, changed = value, "", True
    return changed


def _toc_field(root: Element) -> tuple[Element, Element, Element] | None:
    """(begin, separate, end) fldChar elements of the first TOC field, nested fields skipped."""
    marks = list(root.iter(f"{{{W}}}fldChar", f"{{{W}}}instrText"))
    for k, mark in enumerate(marks):
        if mark.tag != f"{{{W}}}instrText" or not (mark.text or "").strip().upper().startswith("TOC"):
            continue
        begin = next(m for m in reversed(marks[:k]) if _kind(m) == "begin")
        depth, separate = 0, None
        for m in marks[k + 1 :]:
            kind = _kind(m)
            if kind == "begin":
                depth += 1
            elif kind == "separate" and depth == 0 and separate is None:
                separate = m
            elif kind == "end":
                if depth == 0:
                    return (begin, separate, m) if separate is not None else None
                depth -= 1
    return None


def _kind(mark: Element) -> str | None:
    kind: str | None = mark.get(f"{{{W}}}fldCharType")
    return kind


def _run(mark: Element) -> Element:
    return mark.getparent()


def _paragraph(mark: Element) -> Element:
    return next(a for a in mark.iterancestors(f"{{{W}}}p"))


def _properties(paragraph: Element) -> Element:
    properties = paragraph.find(f"{{{W}}}pPr")
    if properties is None:
        properties = etree.Element(f"{{{W}}}pPr")
        paragraph.insert(0, properties)
    return properties


def _after_properties(paragraph: Element, run: Element) -> None:
    properties = paragraph.find(f"{{{W}}}pPr")
    if properties is None:
        paragraph.insert(0, run)
    else:
        properties.addnext(run)


def _toc_style_ids(styles: bytes) -> Mapping[int, str]:
    """Style id of "toc 1", "toc 2" …, whatever the ids are called in this document's styles.xml."""
    ids = {}
    for style in etree.fromstring(styles).iter(f"{{{W}}}style"):
        name = style.find(f"{{{W}}}name")
        match = re.fullmatch(r"toc (\d)", (name.get(f"{{{W}}}val") if name is not None else "").lower())
        if match:
            ids[int(match.group(1))] = style.get(f"{{{W}}}styleId")
    return MappingProxyType(ids)


# Kept for the next document: a batch's come from one template, whose styles.xml (350 KB with Word's
# table styles) took 4 ms a document to read again.
_toc_style_ids_kept = functools.lru_cache(maxsize=4)(_toc_style_ids)


def _toc_paragraph(entry: TocEntry, style_ids: Mapping[int, str]) -> Element:
    paragraph = etree.Element(f"{{{W}}}p", nsmap={"w": W})
    properties = etree.SubElement(paragraph, f"{{{W}}}pPr")
    etree.SubElement(properties, f"{{{W}}}pStyle").set(f"{{{W}}}val", style_ids.get(entry.level, f"TOC{entry.level}"))
    for content in (entry.text, None, str(entry.page)):
        run = etree.SubElement(paragraph, f"{{{W}}}r")
        if content is None:
            etree.SubElement(run, f"{{{W}}}tab")
        else:
            text = etree.SubElement(run, f"{{{W}}}t")
            text.set(XML_SPACE, "preserve")
            text.text = content
    return paragraph
