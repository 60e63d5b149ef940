"""Export a built .docx to PDF with LibreOffice, the table of contents showing real page numbers.

`soffice --convert-to pdf` prints the TOC field as stored, without page numbers. Through the
UNO API LibreOffice updates the TOC before exporting; UNO is importable only by the system
python3 (Debian python3-uno), so uno_export.py runs there as a subprocess, in a process group
of its own that is killed once it ends, so LibreOffice never outlives an export. The entries it
reads back go into the .docx's own TOC field too (write_toc), for viewers that never update
fields. PDF bytes are made reproducible, like the .docx: the same document gives the same PDF.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

from lxml import etree

from opsdoc.errors import LibreOfficeMissing, PdfExportError
from opsdoc.office.docx_text import read_document
from opsdoc.office.output import deterministic_zip, write_atomic

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's python3, the one python3-uno installs into
HELPER = Path(__file__).with_name("uno_export.py")
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


def export_pdf(
    docx_path: Path | str, pdf_path: Path | str, progress: Progress | None = None, archival: Archival | None = None
) -> list[TocEntry]:
    """Write `pdf_path` (atomically) from the .docx, and return its TOC as LibreOffice laid it out.

    With `archival` the PDF is PDF/A-2b; title and subject come from the .docx's properties.

    The .docx is not changed; pass the entries to write_toc for that. Raises UnusableDocument
    for a file that is not a .docx, LibreOfficeMissing (with the apt-get line) when LibreOffice,
    python3-uno or the CJK fonts are missing, and PdfExportError when the conversion fails or
    takes longer than TIMEOUT_SECONDS. Nothing is written then.
    """
    docx_path, pdf_path = Path(docx_path), Path(pdf_path)
    # Read first: a file that is not a .docx gets its clear message, and the PDF is dated from
    # the document (the last 批准日期 for an opsdoc build), not from the clock.
    created = read_document(docx_path).modified or datetime(1980, 1, 1)
    soffice = _requirements()
    with tempfile.TemporaryDirectory(prefix="opsdoc-pdf-") as work:
        source, target = Path(work) / "document.docx", Path(work) / "document.pdf"
        shutil.copyfile(docx_path, source)  # LibreOffice leaves lock files beside what it opens
        options = {"archival": True, "keywords": list(archival.keywords)} if archival else {}
        lines = _run_helper(docx_path, soffice, source, target, Path(work) / "profile", progress, options)
        if not target.is_file():
            raise PdfExportError(docx_path, "LibreOffice 没有生成 PDF")
        data = reproducible_pdf(target.read_bytes(), created)
    entries = [_entry(docx_path, style, text) for style, text in lines if text.strip()]
    write_atomic(pdf_path, data)
    return entries


def _requirements() -> str:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise LibreOfficeMissing(None, f"导出 PDF 需要 LibreOffice：请安装（{INSTALL}）")
    if not SYSTEM_PYTHON.is_file():
        raise LibreOfficeMissing(None, f"导出 PDF 需要系统自带的 {SYSTEM_PYTHON} 和 python3-uno：请安装（{INSTALL}）")
    fc_list = shutil.which("fc-list")
    if fc_list:
        families = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30).stdout
        if "Noto Sans CJK SC" not in families or "Noto Serif CJK SC" not in families:
            raise LibreOfficeMissing(None, f"导出 PDF 需要中文字体 Noto Sans/Serif CJK SC：请安装（{INSTALL}）")
    return soffice


def _run_helper(
    docx_path: Path,
    soffice: str,
    source: Path,
    target: Path,
    profile: Path,
    progress: Progress | None,
    options: dict[str, Any],
) -> list[Any]:
    timed_out = threading.Event()
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS)}
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            [
                *(str(SYSTEM_PYTHON), "-I", str(HELPER), soffice, str(source), str(target), str(profile)),
                json.dumps(options, ensure_ascii=False),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
            env=env,
            start_new_session=True,
        ) as process,
    ):

        def expire() -> None:
            timed_out.set()
            _kill_group(process)

        timer = threading.Timer(TIMEOUT_SECONDS, expire)
        outcome: dict[str, Any] = {}
        try:
            timer.start()
            for line in process.stdout or ():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # only JSON lines are the helper's; anything else is noise
                if "progress" in message:
                    if progress:
                        progress(message["progress"])
                else:
                    outcome = message
            process.wait()
        finally:
            timer.cancel()
            _kill_group(process)
        errors.seek(0)
        detail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
    if timed_out.is_set():
        raise PdfExportError(docx_path, f"LibreOffice 在 {TIMEOUT_SECONDS} 秒内没有完成转换，已终止")
    if outcome.get("error") == "no-uno":
        raise LibreOfficeMissing(None, f"导出 PDF 需要 LibreOffice 的 Python 接口 python3-uno：请安装（{INSTALL}）")
    if "toc" not in outcome:
        why = outcome.get("message") or (detail[0] if detail else f"退出码 {process.returncode}")
        raise PdfExportError(docx_path, f"LibreOffice 转换失败：{why}")
    toc: list[Any] = outcome["toc"]
    return toc


def _kill_group(process: subprocess.Popen[str]) -> None:
    """End the helper and every LibreOffice process it started (they share its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # all gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _entry(docx_path: Path, style: str, text: str) -> TocEntry:
    """'6.1 预算管理\\t9' in paragraph style 'Contents 2' → TocEntry(2, "6.1", "预算管理", 9)."""
    head, _, page = text.rpartition("\t")
    if not page.strip().isdigit():
        raise PdfExportError(docx_path, f"目录项「{text.strip()}」没有页码")
    level = re.search(r"(\d+)$", style)
    numbered = re.fullmatch(r"(\d+(?:\.\d+)*)\s*(.*)", head.strip())
    number, title = numbered.groups() if numbered else ("", head.strip())
    return TocEntry(int(level.group(1)) if level else 1, number, title.strip(), int(page))


def reproducible_pdf(data: bytes, created: datetime) -> bytes:
    """LibreOffice's PDF with the creation time set to `created` and the file ID taken from the content.

    Every replacement keeps the byte length, so the cross-reference offsets stay valid.
    """
    data = re.sub(rb"(/CreationDate\(D:)\d{14}", lambda m: m.group(1) + created.strftime("%Y%m%d%H%M%S").encode(), data)
    # PDF/A's XMP repeats the creation time in ISO form; the time zone suffix keeps its length.
    data = re.sub(
        rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
        lambda m: m.group(1) + created.strftime("%Y-%m-%dT%H:%M:%S").encode(),
        data,
    )
    identifiers = re.compile(
        rb"(/ID\s*\[\s*<)[0-9A-Fa-f]{32}(>\s*<)[0-9A-Fa-f]{32}(>)|(/DocChecksum\s*/)[0-9A-Fa-f]{32}"
    )
    digest = hashlib.md5(identifiers.sub(b"", data)).hexdigest().upper().encode()

    def stamp(match: re.Match[bytes]) -> bytes:
        if match.group(4):
            return match.group(4) + digest
        return match.group(1) + digest + match.group(2) + digest + match.group(3)

    return identifiers.sub(stamp, data)


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
    style_ids = _toc_style_ids(etree.fromstring(package.read("word/styles.xml")))
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
    return _replace_member(package, "word/document.xml", document)


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


def _toc_style_ids(styles: Element) -> dict[int, str]:
    """Style id of "toc 1", "toc 2" …, whatever the ids are called in this document."""
    ids = {}
    for style in styles.iter(f"{{{W}}}style"):
        name = style.find(f"{{{W}}}name")
        match = re.fullmatch(r"toc (\d)", (name.get(f"{{{W}}}val") if name is not None else "").lower())
        if match:
            ids[int(match.group(1))] = style.get(f"{{{W}}}styleId")
    return ids


def _toc_paragraph(entry: TocEntry, style_ids: dict[int, str]) -> Element:
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


def _replace_member(package: zipfile.ZipFile, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in package.infolist():
            target.writestr(entry.filename, content if entry.filename == name else package.read(entry.filename))
    return deterministic_zip(buffer.getvalue())
