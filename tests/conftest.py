"""Shared fixtures: the bundled sample, and copies of it changed in code to break one thing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import openpyxl
import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
SAMPLE_DOCX = REPO / "samples" / "QT-YW-GF-BH01-001_滨海市第一人民医院信息系统运维服务项目运维工作管理规范_V2.0.docx"


def edit_sample(tmp_path: Path, changes: dict | None = None, *, delete_sheets=(), delete_rows=(), name="工作簿.xlsx") -> Path:
    """Save a copy of the sample with cells set ({"修订记录!B3": value}; None empties a cell)."""
    book = openpyxl.load_workbook(SAMPLE)
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


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / SAMPLE.name
    shutil.copyfile(SAMPLE, path)
    return path


def soffice() -> str:
    """The LibreOffice binary; skipped without it unless CI demands it (OPSDOC_REQUIRE_SOFFICE=1)."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        if os.environ.get("OPSDOC_REQUIRE_SOFFICE") == "1":
            pytest.fail("LibreOffice (soffice) is required here: apt-get install libreoffice-writer-nogui")
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-writer-nogui)")
    return found
