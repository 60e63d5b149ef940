"""PDF export through LibreOffice's UNO API: the TOC lists each chapter on the page it really starts."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import docx
import openpyxl
import pytest

from opsdoc.api import BuildOptions, FileKind, build
from opsdoc.contract.vocabulary import CHAPTERS
from opsdoc.errors import LibreOfficeMissing, PdfExportError, UnusableDocument
from opsdoc.generate import pdf
from opsdoc.generate.pdf import TocEntry, export_pdf, reproducible_pdf, write_toc
from opsdoc.office.docx_text import modified_time
from opsdoc.office.output import with_members
from opsdoc.qa.verify import verify_document
from tests.support import SAMPLE, SAMPLE_DOCX, edit_sample, uno_python


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One LibreOffice run for the module: the sample exported, with its progress messages."""
    uno_python()
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is required with LibreOffice: apt-get install poppler-utils")
    folder = tmp_path_factory.mktemp("pdf")
    target = folder / "规范.pdf"
    pdf.close_office()  # a cold start, so every progress message shows
    messages: list[str] = []
    laid = export_pdf(SAMPLE_DOCX, target, progress=messages.append)
    return laid, target, poppler_text(target), messages


def printed_number(page: str) -> str | None:
    """The number the footer prints on a page of pdftotext's output: 3, ii; None for none."""
    found = re.search(r"第\s*([0-9]+|[ivxlc]+)\s*页", page)
    return found.group(1) if found else None


def test_cover_unnumbered_front_matter_in_roman_and_chapter_1_on_page_1(exported):
    _, _, pages, _ = exported
    pages = [page for page in pages if page.strip()]
    assert printed_number(pages[0]) is None
    assert "文件版本历史" in pages[1] and printed_number(pages[1]) == "i"
    assert "目录" in pages[2] and printed_number(pages[2]) == "ii"
    assert "1 项目背景" in [line.strip() for line in pages[3].splitlines()]
    assert printed_number(pages[3]) == "1"
    assert [printed_number(page) for page in pages[3:]] == [str(n) for n in range(1, len(pages) - 2)]


def test_body_pages_say_how_many_pages_the_body_has(exported):
    """第 N 页 共 M 页 from chapter 1 on, M the body's pages (LibreOffice does not compute SECTIONPAGES:
    the export writes the count in); the front matter says 第 i 页 only."""
    laid, _, pages, _ = exported
    body = [page for page in pages if page.strip()][3:]
    assert laid.section_pages == len(body)
    totals = [re.search(r"第\s*(\d+)\s*页\s*共\s*(\d+)\s*页", page) for page in body]
    assert [(int(t.group(1)), int(t.group(2))) for t in totals if t] == [
        (n, len(body)) for n in range(1, len(body) + 1)
    ]
    assert "共" not in [page for page in pages if page.strip()][1].splitlines()[-1]


TABLE = (
    '<w:tbl><w:tblPr><w:tblW w:w="9000" w:type="dxa"/></w:tblPr><w:tblGrid><w:gridCol w:w="9000"/></w:tblGrid>'
    '<w:tr><w:tc><w:tcPr><w:tcW w:w="9000" w:type="dxa"/></w:tcPr>{}</w:tc></w:tr></w:tbl><w:p/>'
)
TEXT_BOX = (
    '<w:p><w:r><w:pict><v:shape id="页脚" type="#_x0000_t202" stroked="f" style="position:absolute;width:450pt;'
    'height:24pt"><v:textbox><w:txbxContent>{}</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>'
)


@pytest.mark.parametrize(("how", "wrapper"), [("表格", TABLE), ("文本框", TEXT_BOX), ("页眉", None)])
def test_a_page_count_in_a_table_a_text_box_or_the_header_is_filled_too(tmp_path, how, wrapper):
    """Company templates often set the footer in a borderless table or a text box, or say 共 M 页 in the
    header; it is filled there too. (The sample's body footer is footer4; its header is header2.)"""
    uno_python()
    source = tmp_path / f"{how}页脚.docx"
    with zipfile.ZipFile(SAMPLE_DOCX) as package, zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as copy:
        footer = package.read("word/footer4.xml").decode("utf-8")
        start, end = footer.index("<w:p>"), footer.rindex("</w:p>") + len("</w:p>")
        line = footer[start:end]
        for item in package.infolist():
            data = package.read(item)
            if item.filename == "word/footer4.xml":
                data = (footer[:start] + (wrapper.format(line) if wrapper else "<w:p/>") + footer[end:]).encode()
            elif item.filename == "word/header2.xml" and wrapper is None:
                header = data.decode("utf-8")
                at = header.rindex("</w:hdr>")
                data = (header[:at] + line + header[at:]).encode("utf-8")
            copy.writestr(item, data)
    laid = export_pdf(source, tmp_path / f"{how}页脚.pdf")
    pages = [page for page in poppler_text(tmp_path / f"{how}页脚.pdf") if page.strip()]
    body = pages[3:]
    assert laid.section_pages == len(body) > 1
    totals = [re.search(rf"第\s*{n}\s*页\s*共\s*{len(body)}\s*页", page) for n, page in enumerate(body, start=1)]
    assert all(totals), body[0]
    # and the .docx says the same where the field stands, for viewers that show a field's stored result
    written = zipfile.ZipFile(io.BytesIO(pdf.write_section_pages(source.read_bytes(), laid.section_pages)))
    part = written.read("word/header2.xml" if wrapper is None else "word/footer4.xml").decode("utf-8")
    assert f"<w:t>{len(body)}</w:t>" in part and "—" not in part


def poppler_text(path: Path) -> list[str]:
    """The PDF's pages as pdftotext lays them out."""
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout.split("\f")


def test_no_dejavu_font_stands_in(exported):
    """Every face is the template's or its named stand-in: DejaVu would mean a font fell through."""
    _, target, _, _ = exported
    if not shutil.which("pdffonts"):
        pytest.fail("pdffonts is required with LibreOffice: apt-get install poppler-utils")
    listing = subprocess.run(["pdffonts", str(target)], check=True, capture_output=True, text=True).stdout
    faces = [line.split()[0].split("+")[-1] for line in listing.splitlines()[2:]]
    assert faces and not [face for face in faces if "DejaVu" in face], faces
    assert "LiberationSerif" in faces  # Times New Roman's stand-in
    assert any(face.startswith("NotoSerifCJK") for face in faces)  # 宋体's
    assert any(face.startswith("NotoSansCJK") for face in faces)  # 黑体's


def test_every_date_and_name_of_the_version_history_stands_whole_on_one_line(exported):
    """20250310/周建峰 must never wrap inside the date or the name (it did: 周建/峰)."""
    _, _, pages, _ = exported
    history = next(page for page in pages if "文件版本历史" in page)
    book = openpyxl.load_workbook(SAMPLE, read_only=True)
    rows = list(book["修订记录"].iter_rows(min_row=2, values_only=True))
    shown = [f"{day:%Y%m%d}/{name}" for row in rows if row[0] for day, name in (row[1:3], row[3:5], row[5:7])]
    assert len(shown) == 3 * len([row for row in rows if row[0]]) >= 12
    lines = history.splitlines()
    assert [cell for cell in shown if not any(cell in line for line in lines)] == []


def test_every_page_after_the_cover_says_whether_it_is_a_controlled_copy(exported):
    _, _, pages, _ = exported
    pages = [page for page in pages if page.strip()]
    assert len(pages) >= 12
    assert [n for n, page in enumerate(pages[1:], 2) if not re.search(r"受控状态：\s*受控", page)] == []


def test_each_total_is_printed_on_the_page_of_a_record_it_sums(exported):
    """A 合计 row alone at the top of a page, under the repeated header, says nothing."""
    _, _, pages, _ = exported
    totals = [
        (i, page) for i, page in enumerate(pages) for line in page.splitlines() if line.strip().startswith("合计")
    ]
    assert len(totals) == 2  # the budget and the KPI weights
    for i, page in totals:
        above = page.split("合计")[0].splitlines()
        header = max(n for n, line in enumerate(above) if "预算项" in line or "考核指标" in line)
        assert [line for line in above[header + 1 :] if line.strip()], f"合计 stands alone on page {i + 1}"


def test_progress_is_reported(exported):
    _, _, _, messages = exported
    assert messages == ["正在启动 LibreOffice…", "正在打开文档…", "正在更新目录…", "正在导出 PDF…"]


def test_toc_lists_the_ten_chapters_and_their_sub_sections(exported):
    laid, _, _, _ = exported
    entries = laid.toc
    assert [e.title for e in entries if e.level == 1] == list(CHAPTERS)
    assert [e.number for e in entries if e.level == 1] == [str(n) for n in range(1, 11)]
    assert [(e.number, e.title) for e in entries if e.number.startswith("6.")][:2] == [
        ("6.1", "服务支持管理和服务交付管理"),
        ("6.2", "预算管理"),
    ]


def test_each_entry_names_the_page_its_heading_is_printed_on(exported):
    laid, _, pages, _ = exported
    entries = laid.toc
    for entry in entries:
        heading = f"{entry.number} {entry.title}"
        printed = [printed_number(page) for page in pages if any(line.strip() == heading for line in page.splitlines())]
        assert printed == [str(entry.page)], heading


def test_the_pdf_toc_page_shows_the_entries_with_page_numbers(exported):
    laid, _, pages, _ = exported
    entries = laid.toc
    toc = pages[2]
    assert "目录" in toc
    shown = re.findall(r"^\s*(\d+(?:\.\d+)?) (\S+?)\.{5,}(\d+)\s*$", toc, flags=re.M)
    assert shown == [(e.number, e.title, str(e.page)) for e in entries]


def test_the_docx_gets_the_same_toc_written_back(exported, tmp_path):
    laid, _, _, _ = exported
    entries = laid.toc
    data = write_toc(SAMPLE_DOCX.read_bytes(), entries)
    assert write_toc(SAMPLE_DOCX.read_bytes(), entries) == data  # deterministic
    path = tmp_path / "规范.docx"
    path.write_bytes(data)
    toc = [(p.style.name, p.text) for p in docx.Document(path).paragraphs if p.style.name.startswith("toc")]
    assert toc == [(f"toc {e.level}", f"{e.number}\u3000{e.title}\t{e.page}") for e in entries]
    assert toc[0] == ("toc 1", "1\u3000项目背景\t1")
    assert verify_document(path, workbook=SAMPLE).findings == []  # still a field, still a valid document
    assert write_toc(data, entries) == data  # writing the same entries again changes nothing


def test_the_pdf_bytes_do_not_depend_on_the_clock(exported):
    _, target, _, _ = exported
    data = target.read_bytes()
    assert b"/CreationDate(D:20260907000000" in data  # the last 批准日期, as in the .docx
    other_run = re.sub(rb"/CreationDate\(D:\d{14}", b"/CreationDate(D:20991231235959", data)
    other_run = re.sub(
        rb"(/ID\s*\[\s*<|>\s*<|/DocChecksum\s*/)[0-9A-F]{32}", lambda m: m.group(1) + b"0" * 32, other_run
    )
    assert other_run != data
    assert reproducible_pdf(other_run, docx.Document(SAMPLE_DOCX).core_properties.modified) == data


@pytest.mark.parametrize(
    "written",
    [
        "2026-09-07T08:30:00Z",
        "2026-09-07t08:30:00z",
        "2026-09-07T08:30:00",
        "2026-09-07T08:30:00.25Z",
        "2026-09-07T16:30:00+08:00",
        "2026-09-07",
        "2026-09",
        "2026",
    ],
)
def test_the_pdf_is_dated_from_the_modified_time_python_docx_reads(written):
    data = _with_modified(SAMPLE_DOCX.read_bytes(), written)
    assert modified_time(data) == docx.Document(io.BytesIO(data)).core_properties.modified


def test_a_modified_time_with_a_fraction_and_an_offset_is_read_in_utc():
    assert modified_time(_with_modified(SAMPLE_DOCX.read_bytes(), "2026-09-07T16:30:00.25+08:00")) == datetime(
        2026, 9, 7, 8, 30, tzinfo=UTC
    )
    for unreadable in ("明天", "2026-13-01", "0001-01-01T00:00:00+08:00"):  # the last: before the year 1 in UTC
        assert modified_time(_with_modified(SAMPLE_DOCX.read_bytes(), unreadable)) is None


def test_dating_a_pdf_does_not_load_python_docx():
    """python-docx takes 35–50 ms to import: a batch worker would pay it before its first PDF."""
    probe = (
        "import sys; from opsdoc.generate import pdf; "
        f"pdf.modified_time(open({str(SAMPLE_DOCX)!r}, 'rb').read()); print(sorted(m for m in sys.modules if m == 'docx'))"
    )
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"


def _with_modified(data: bytes, written: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        core = package.read("docProps/core.xml")
    core = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", lambda m: m.group(1) + written.encode(), core)
    return with_members(data, {"docProps/core.xml": core})


def test_libreoffice_lays_out_a_copy_without_the_table_styles_no_table_uses():
    """The sample template carries Word's hundred table styles; a table names one of them in a header,
    and a style of the document's own is based on another: those stay, with the default one."""
    data = SAMPLE_DOCX.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        header, styles = package.read("word/header1.xml"), package.read("word/styles.xml")
    table = b'<w:tbl><w:tblPr><w:tblStyle w:val="LightGrid-Accent1"/></w:tblPr><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>'
    own = (
        b'<w:style w:type="table" w:styleId="OwnStyle"><w:name w:val="Own"/>'
        b'<w:basedOn w:val="MediumGrid1-Accent2"/></w:style>'
    )
    body = b'<w:tbl><w:tblPr><w:tblStyle w:val="OwnStyle"/></w:tblPr><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>'
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        document = package.read("word/document.xml")
    document = document.replace(b"<w:body>", b"<w:body>" + body, 1)
    data = with_members(
        data,
        {
            "word/header1.xml": header.replace(b"</w:hdr>", table + b"</w:hdr>"),
            "word/styles.xml": styles.replace(b"</w:styles>", own + b"</w:styles>"),
            "word/document.xml": document,
        },
    )

    slim = pdf.for_layout(data)

    def table_styles(package: bytes) -> set[str]:
        with zipfile.ZipFile(io.BytesIO(package)) as read:
            return set(
                re.findall(r'<w:style w:type="table"[^>]*w:styleId="([^"]+)"', read.read("word/styles.xml").decode())
            )

    assert len(table_styles(data)) == 101  # Word's gallery of 100 and the document's own
    assert table_styles(slim) == {"TableNormal", "TableGrid", "LightGrid-Accent1", "OwnStyle", "MediumGrid1-Accent2"}
    with zipfile.ZipFile(io.BytesIO(data)) as whole, zipfile.ZipFile(io.BytesIO(slim)) as copy:
        assert whole.namelist() == copy.namelist()
        assert [n for n in whole.namelist() if whole.read(n) != copy.read(n)] == ["word/styles.xml"]
    assert pdf.for_layout(slim) == slim
    assert pdf.for_layout(b"not a package") == b"not a package"  # LibreOffice says what is wrong with it


def test_a_table_style_named_in_any_way_stays_in_libreoffices_copy():
    """Named with single quotes and another prefix in a footnote-like part of another name, through a
    paragraph style's link, by a duplicate id's base, or inside mc:AlternateContent: each stays; a part
    in UTF-16 (not searched) leaves the copy whole."""
    data = SAMPLE_DOCX.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        styles = package.read("word/styles.xml")
    own = (
        b'<w:style w:type="paragraph" w:styleId="Linked"><w:name w:val="Linked"/><w:link w:val="LightList"/></w:style>'
        b'<w:style w:type="table" w:styleId="Twice"><w:name w:val="Twice"/><w:basedOn w:val="DarkList"/></w:style>'
        b'<w:style w:type="table" w:styleId="Twice"><w:name w:val="Twice"/><w:basedOn w:val="ColorfulList"/></w:style>'
        b'<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice>'
        b'<w:style w:type="table" w:styleId="Nested"><w:basedOn w:val="ColorfulGrid"/></w:style>'
        b"</mc:Choice></mc:AlternateContent>"
    )
    notes = (
        b'<?xml version="1.0"?><x:ftr xmlns:x="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<x:tbl><x:tblPr><x:tblStyle x:val='MediumList1'/></x:tblPr></x:tbl><x:tbl><x:tblPr>"
        b'<x:tblStyle x:val="Twice"/></x:tblPr></x:tbl><x:tbl><x:tblPr><x:tblStyle x:val="Nested"/></x:tblPr></x:tbl></x:ftr>'
    )
    data = with_members(data, {"word/styles.xml": styles.replace(b"</w:styles>", own + b"</w:styles>")})
    data = _with_member(data, "word/notes2.xml", notes)

    with zipfile.ZipFile(io.BytesIO(pdf.for_layout(data))) as copy:
        kept = set(re.findall(r'w:type="table"[^>]*w:styleId="([^"]+)"', copy.read("word/styles.xml").decode()))
    assert kept == {
        "TableNormal",
        "TableGrid",
        "LightList",
        "MediumList1",
        "Twice",
        "DarkList",
        "ColorfulList",
        "Nested",
        "ColorfulGrid",
    }

    utf16 = _with_member(
        data, "word/header9.xml", notes.decode().replace('"1.0"?', '"1.0" encoding="UTF-16"?').encode("utf-16")
    )
    assert pdf.for_layout(utf16) == utf16


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    """The package with one part more (not listed in its content types: for_layout reads parts by name)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(name, content)
    return out.getvalue()


def test_the_pdf_laid_out_from_the_slim_copy_is_the_whole_documents(monkeypatch):
    uno_python()
    data = SAMPLE_DOCX.read_bytes()
    slim_laid, slim_pdf = pdf.pdf_of(data)
    monkeypatch.setattr(pdf, "for_layout", lambda docx: docx)
    assert pdf.pdf_of(data) == (slim_laid, slim_pdf)


def test_a_pdf_a_made_a_second_later_by_a_warm_libreoffice_is_the_same_bytes(tmp_path, monkeypatch):
    """PDF/A-2b (what issue files) carries an ICC profile that LibreOffice's colour library stamps
    with the clock, and a warm LibreOffice numbers its fonts on: both are settled from the document."""
    uno_python()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # this process's own LibreOffice, started here
    pdf.close_office()
    archival = pdf.Archival(("QT-YW-GF-BH01-001",))
    first = export_pdf(SAMPLE_DOCX, tmp_path / "1.pdf", archival=archival)  # a cold LibreOffice
    time.sleep(1.1)  # the profile's date counts seconds
    second = export_pdf(SAMPLE_DOCX, tmp_path / "2.pdf", archival=archival)  # the same one, warm
    pdf.close_office()
    data = (tmp_path / "1.pdf").read_bytes()
    assert b"acsp" in zlib.decompress(data[data.index(b"stream", data.index(b"/N 3/Length")) + 7 :])[36:40]
    assert first == second and data == (tmp_path / "2.pdf").read_bytes()
    assert_cross_references_hold(data)  # its streams were rewritten: every offset and /Length moved with them


def assert_cross_references_hold(data: bytes) -> None:
    """What a strict PDF reader checks (poppler would quietly rebuild a wrong table): startxref points at
    the table, every entry at its object, and every indirect /Length is its stream's length."""
    start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[start : start + 4] == b"xref"
    table = data[start:].split(b"trailer", 1)[0].splitlines()
    first, count = map(int, table[1].split())
    entries = table[2 : 2 + count]
    offsets = {}
    for number, entry in enumerate(entries, start=first):
        offset, _generation, kind = entry.split()
        if kind == b"n":
            offsets[number] = int(offset)
            assert data[int(offset) :].startswith(b"%d 0 obj" % number), number
    for found in re.finditer(rb"/Length (\d+) 0 R[^>]*>>\r?\nstream\r?\n", data):
        length = int(re.match(rb"\d+ 0 obj\s*(\d+)", data[offsets[int(found.group(1))] :]).group(1))
        assert data[found.end() + length : found.end() + length + 10].lstrip(b"\r\n").startswith(b"endstream")


def test_missing_libreoffice_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(LibreOfficeMissing) as caught:
        export_pdf(SAMPLE_DOCX, tmp_path / "规范.pdf")
    assert caught.value.exit_code == 2
    assert "apt-get install libreoffice-writer-nogui python3-uno fonts-noto-cjk" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_python_without_uno_says_how_to_install_it(tmp_path, monkeypatch):
    uno_python()
    monkeypatch.setattr(pdf, "SYSTEM_PYTHON", Path(sys.executable))  # opsdoc's own python has no uno
    with pytest.raises(LibreOfficeMissing) as caught:
        export_pdf(SAMPLE_DOCX, tmp_path / "规范.pdf")
    assert "python3-uno" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_conversion_that_takes_too_long_is_ended_and_leaves_nothing(tmp_path, monkeypatch):
    uno_python()
    pdf.close_office()
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 0.5)
    helpers: list[pdf.Helper] = []
    start = pdf.Helper
    monkeypatch.setattr(pdf, "Helper", lambda soffice: helpers.append(start(soffice)) or helpers[-1])
    with pytest.raises(PdfExportError) as caught:
        export_pdf(SAMPLE_DOCX, tmp_path / "规范.pdf")
    assert "0.5 秒内没有完成转换" in caught.value.message
    assert list(tmp_path.iterdir()) == []
    group = str(helpers[0].process.pid)  # the helper leads a process group with its LibreOffice
    deadline = time.monotonic() + 5  # SIGKILL is sent; give the kernel a moment to finish them
    while left := subprocess.run(["pgrep", "-g", group], capture_output=True, text=True).stdout.split():
        assert time.monotonic() < deadline, f"LibreOffice outlived the export: {left}"
        time.sleep(0.1)
    # The next document of a batch gets a new LibreOffice and is exported.
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 180)
    assert export_pdf(SAMPLE_DOCX, tmp_path / "规范.pdf").toc[0].title == "项目背景"
    assert len(helpers) == 2


def test_another_python3_first_on_path_does_not_become_libreoffices(tmp_path, monkeypatch):
    """The job runs in the Python LibreOffice embeds, which finds its library from the first python3 on
    PATH. One of pyenv, conda or a virtual environment there (opsdoc's own often is): here a bare one
    whose library is empty, which kills LibreOffice's Python at its start unless the helper keeps it out."""
    uno_python()
    version = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    other = tmp_path / "other-python"
    (other / "bin").mkdir(parents=True)
    shutil.copy("/bin/true", other / "bin" / "python3")  # a file of its own: a link would lead Python home
    (other / "lib" / version).mkdir(parents=True)
    (other / "lib" / version / "os.py").write_text("")  # the landmark Python looks for, and nothing else
    monkeypatch.setenv("PATH", f"{other / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(other / "lib" / version))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no `opsdoc office` of this user answers
    pdf.close_office()
    try:
        laid = export_pdf(SAMPLE_DOCX, tmp_path / "规范.pdf")
    finally:
        pdf.close_office()  # the next tests' helper starts with their environment
    assert laid.toc[0].title == "项目背景" and (tmp_path / "规范.pdf").read_bytes().startswith(b"%PDF")


def test_a_document_libreoffice_fails_on_is_reported_and_libreoffice_serves_the_next(tmp_path):
    """The job inside LibreOffice answers a failure as a message (no traceback from its Python), closes
    the document, and the same LibreOffice exports the next one."""
    uno_python()
    pdf.close_office()
    source = tmp_path / "document.docx"
    shutil.copyfile(SAMPLE_DOCX, source)
    helper = pdf._office(pdf.requirements())
    failed = helper.convert({"docx": str(tmp_path / "已删除.docx"), "pdf": str(tmp_path / "x.pdf")}, None, 120)
    assert failed["error"] == "failed" and "IllegalArgumentException" in failed["message"], failed
    assert "Traceback" not in failed["message"] and "\n" not in failed["message"], failed
    (tmp_path / "占用.pdf").mkdir()  # the PDF's name is taken by a folder: opened and laid out, the export fails
    failed = helper.convert({"docx": str(source), "pdf": str(tmp_path / "占用.pdf")}, None, 120)
    assert failed["error"] == "failed" and "Traceback" not in failed["message"], failed
    done = helper.convert({"docx": str(source), "pdf": str(tmp_path / "x.pdf")}, None, 120)
    assert done["toc"][0][1].startswith("1 项目背景") and (tmp_path / "x.pdf").is_file()
    assert pdf._helper is helper and helper.process.poll() is None
    pdf.close_office()


def test_the_helper_activates_the_job_by_the_name_the_job_gives_itself():
    helper = pdf.HELPER.read_text(encoding="utf-8")
    job = pdf.JOB.read_text(encoding="utf-8")
    name = re.search(r'^NAME = "([^"]+)"', job, re.MULTILINE)
    assert name and f'JOB_NAME = "{name.group(1)}"' in helper


def test_a_file_that_is_not_a_docx_is_refused_before_libreoffice_starts(tmp_path):
    source = tmp_path / "规范.docx"
    source.write_text("不是文档")
    with pytest.raises(UnusableDocument):
        export_pdf(source, tmp_path / "规范.pdf")
    assert [p.name for p in tmp_path.iterdir()] == ["规范.docx"]


def test_toc_entry_text_is_the_templates_format():
    assert TocEntry(2, "6.1", "预算管理", 9).text == "6.1\u3000预算管理"


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def test_one_libreoffice_serves_every_export_of_a_process(tmp_path):
    uno_python()
    pdf.close_office()
    first: list[str] = []
    cold = export_pdf(SAMPLE_DOCX, tmp_path / "1.pdf", progress=first.append)
    helper = pdf._helper
    second: list[str] = []
    entries = export_pdf(SAMPLE_DOCX, tmp_path / "2.pdf", progress=second.append)
    assert pdf._helper is helper and helper is not None and helper.process.poll() is None
    assert first[0] == "正在启动 LibreOffice…" and second == ["正在打开文档…", "正在更新目录…", "正在导出 PDF…"]
    assert (tmp_path / "1.pdf").read_bytes() == (tmp_path / "2.pdf").read_bytes()
    assert entries == cold and entries.toc[0].title == "项目背景"
    office = _descendants(helper.process.pid)
    assert office  # LibreOffice runs under the helper
    pdf.close_office()
    assert helper.process.poll() is not None
    assert not [p for p in office if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return "Z"


def test_killing_libreoffice_mid_batch_loses_no_document(tmp_path):
    uno_python()
    pdf.close_office()
    folder = tmp_path / "in"
    folder.mkdir()
    sources = [edit_sample(folder, {"文档信息!B3": f"QT-YW-GF-BH0{i}-001"}, name=f"{i}.xlsx") for i in range(3)]
    messages: list[str] = []
    killed: list[int] = []

    def progress(message: str) -> None:
        messages.append(message)
        # In the second document, while LibreOffice updates its TOC: kill LibreOffice, not the helper.
        if message == "正在更新目录…" and messages.count(message) == 2:
            assert pdf._helper is not None
            for pid in _descendants(pdf._helper.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    # One process builds the batch in turn, as each batch worker does, so the test sees its LibreOffice.
    results = [build(source, tmp_path / "out", BuildOptions(pdf=True), progress=progress) for source in sources]
    pdf.close_office()
    assert killed
    assert all(result.written(FileKind.PDF).path.is_file() for result in results)
    assert messages.count("LibreOffice 意外退出，正在重新启动…") == 1
    assert messages.count("正在启动 LibreOffice…") == 2  # started once, restarted once
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 3


def test_each_running_libreoffice_gets_a_cached_profile_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first, second = pdf._claim_profile(), pdf._claim_profile()
    assert first and second and first[0] != second[0]
    assert first[0].parent == tmp_path / "opsdoc" / "libreoffice"
    first[1].close()  # that LibreOffice is gone: its profile is free for the next one
    third = pdf._claim_profile()
    assert third and third[0] == first[0]
    second[1].close()
    third[1].close()


def test_without_a_writable_cache_the_profile_is_temporary(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file, not a folder
    assert pdf._claim_profile() is None


def test_opsdoc_office_keeps_libreoffice_warm_for_every_export_and_its_pdf_is_the_cold_ones(tmp_path, monkeypatch):
    """`opsdoc office` as a user runs it: started once, then a build --pdf uses its LibreOffice (it starts
    none of its own), the PDF byte for byte what a cold export gives; a second one is refused; SIGTERM ends it."""
    uno_python()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    profiles = tmp_path / "cache" / "opsdoc" / "libreoffice"
    command = [sys.executable, "-m", "opsdoc"]

    def built(name: str) -> bytes:
        done = subprocess.run(
            [*command, "build", str(SAMPLE), "-o", str(tmp_path / name), "--pdf"], capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()
        return next((tmp_path / name).glob("*.pdf")).read_bytes()

    cold = built("cold")  # its own LibreOffice, in profile-0, gone with it
    office = subprocess.Popen([*command, "office", "--workers", "1"], stderr=subprocess.PIPE, text=True)
    try:
        ready = office.stderr.readline()
        assert "1 个 LibreOffice 已就绪" in ready, ready
        assert built("warm") == cold
        assert sorted(p.name for p in profiles.iterdir() if p.is_dir()) == ["profile-0"]  # the office's alone

        class Interrupted(Exception):
            pass

        def interrupt(_said: str) -> None:
            raise Interrupted  # Ctrl-C on a build while the office exports its document

        source = tmp_path / "cold" / next(p.name for p in (tmp_path / "cold").glob("*.docx"))
        request = {"docx": str(source), "pdf": str(tmp_path / "gone.pdf"), "options": {}}
        with pytest.raises(Interrupted):
            pdf._warm(request, interrupt, 60)
        assert built("after an interrupted one") == cold  # the office's helper is still in step
        second = subprocess.run([*command, "office"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "已有 opsdoc office 在运行" in second.stderr
    finally:
        office.send_signal(signal.SIGTERM)
        assert office.wait(timeout=60) == 0
        office.stderr.close()
    assert not (profiles / "office.sock").exists()
    assert built("after") == cold  # and without it, as before
