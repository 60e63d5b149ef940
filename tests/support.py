"""What the tests share: the bundled sample, copies of it changed in code to break one thing, and the tools they need."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
SAMPLE_DOCX = REPO / "samples" / "QT-YW-GF-BH01-001_滨海市第一人民医院信息系统运维服务项目运维工作管理规范_V2.0.docx"


def edit_sample(
    tmp_path: Path, changes: dict | None = None, *, delete_sheets=(), delete_rows=(), name="工作簿.xlsx", source=SAMPLE
) -> Path:
    """Save a copy of the sample (or `source`) with cells set ({"修订记录!B3": value}; None empties a cell)."""
    book = openpyxl.load_workbook(source)
    for ref, value in (changes or {}).items():
        sheet, cell = ref.split("!")
        book[sheet][cell] = value
    for sheet in delete_sheets:
        del book[sheet]
    for sheet, row in delete_rows:
        book[sheet].delete_rows(row)
    path = tmp_path / name
    book.save(path)
    return path


def corrupt_deflate(source: Path, part: str, at: float, path: Path) -> Path:
    """`source` with 40 bytes of `part`'s compressed stream flipped, `at` (0–1) of the way in: the zip's
    directory is whole, the part's deflate stream is not (as a disk or a download can leave it)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as package:
        entry = package.getinfo(part)
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    first = start + int(entry.compress_size * at)
    for offset in range(first, min(first + 40, start + entry.compress_size)):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def template_variant(
    tmp_path: Path, *replacements: tuple[str, str], part: str = "word/document.xml", source: Path | None = None
) -> Path:
    """The bundled template (or `source`) with each (old, new) of `replacements` made in turn, once, in one package part."""
    from opsdoc.generate.render import default_template

    path = tmp_path / "公司模板.docx"
    original = (source or default_template()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as package, zipfile.ZipFile(path, "w") as target:
        for entry in package.infolist():
            data = package.read(entry.filename)
            if entry.filename == part:
                text = data.decode()
                for old, new in replacements:
                    assert old in text, old
                    text = text.replace(old, new, 1)
                data = text.encode()
            target.writestr(entry, data)
    return path


def unavailable(what: str, install: str):
    """Skip a test that needs a missing tool, unless CI demands it (OPSDOC_REQUIRE_SOFFICE=1): then fail."""
    if os.environ.get("OPSDOC_REQUIRE_SOFFICE") == "1":
        pytest.fail(f"{what} is required here: apt-get install {install}")
    pytest.skip(f"{what} not installed (apt-get install {install})")


def soffice() -> str:
    """The LibreOffice binary; skipped without it unless CI demands it (OPSDOC_REQUIRE_SOFFICE=1)."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        unavailable("LibreOffice (soffice)", "libreoffice-writer-nogui")
    return found


def uno_python() -> None:
    """The system python3 must import uno for the PDF export; skipped or failed like soffice()."""
    soffice()
    try:
        subprocess.run(["/usr/bin/python3", "-I", "-c", "import uno"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        unavailable("python3-uno (LibreOffice's Python bridge for /usr/bin/python3)", "python3-uno")


CSV_UTF8 = "csv:Text - txt - csv (StarCalc):44,34,76"  # comma, double quote, UTF-8: not the locale's charset


def convert_with_libreoffice(source: Path, to: str, folder: Path) -> Path:
    """`source` converted by LibreOffice (`to`: "pdf", "docx", CSV_UTF8 …) into `folder`; the new file.

    A private profile in `folder` keeps it clear of any LibreOffice already running.
    """
    profile = (folder / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(folder),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return folder / f"{source.stem}.{to.split(':')[0]}"


# A realistic next version of the sample: the cover and a new 修订记录 row (V2.1).
NEW_VERSION = {
    "文档信息!B4": "V2.1",
    "文档信息!B9": datetime(2026, 10, 20),
    "修订记录!A6": "V2.1",
    "修订记录!B6": datetime(2026, 10, 8),
    "修订记录!C6": "周建峰",
    "修订记录!D6": datetime(2026, 10, 10),
    "修订记录!E6": "吴海燕",
    "修订记录!F6": datetime(2026, 10, 13),
    "修订记录!G6": "陈立群",
    "修订记录!H6": "WJGG-2026-058",
}

# P1 answers faster: the SLA and the contract change together (contract-sla-times).
P1_FASTER = {"服务级别协议!C2": 10, "合同指标!B2": "响应10分钟，到场30分钟，2小时内恢复"}


# Names as long as real projects have them (41 and 31 characters) and a customer to match.
LONG_PROJECT = "滨海市第一人民医院东院区及南院区医疗信息系统与数据中心一体化运维服务项目（三期）"
MIDDLE_PROJECT = "滨海市中心血站血液管理信息系统及冷链监控平台运维服务项目"
LONG_CUSTOMER = "滨海市第一人民医院（滨海医科大学附属第一医院）东院区"


def project_variant(
    tmp_path: Path, project: str, *, customer: str | None = None, catalog: int | None = None, plan: int | None = None
) -> Path:
    """The sample as another project: its names, and its 服务目录 and 工作计划 grown or cut to `catalog`
    and `plan` rows (grown rows repeat the sample's with their own codes, so every rule still holds)."""
    book = openpyxl.load_workbook(SAMPLE)
    book["文档信息"]["B1"] = project
    if customer:
        book["文档信息"]["B2"] = customer
    for title, count, key in (("服务目录", catalog, 1), ("工作计划", plan, None)):
        if count is None:
            continue
        sheet = book[title]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2) if row[0].value is not None]
        sheet.delete_rows(2, sheet.max_row)
        for index in range(count):
            row = list(rows[index % len(rows)])
            if key is not None and index >= len(rows):
                row[key - 1] = f"SC-{index + 1:02d}"
            sheet.append(row)
    path = tmp_path / f"{project[:12]}.xlsx"
    book.save(path)
    return path


@contextmanager
def serving(data: Path, archive: Path) -> Iterator[str]:
    """`opsdoc serve` as a 文控 starts it, on a free port, until the block ends; its URL once it answers."""
    import socket
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["serve", "--port", str(port), "--data", str(data), "--archive", str(archive)]
    process = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("opsdoc serve did not answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def register_sql(archive: Path, statement: str, **parameters) -> list[tuple]:
    """Run SQL on an archive's register, wherever it is (SQLite or PostgreSQL), as a hand edit would; the
    rows it returns, if any. For tests that set up a state no command makes."""
    from sqlalchemy import text

    from opsdoc.control.register import open_register

    with open_register(archive) as register:
        register.lock()
        result = register.execute(text(statement), parameters)
        rows = [tuple(row) for row in result] if result.returns_rows else []
        register.commit()
    return rows
