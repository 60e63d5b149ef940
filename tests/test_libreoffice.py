"""A real Word-format client opens the built document: LibreOffice converts it to PDF."""

import re
import shutil
import subprocess

import pytest

from opsdoc.contract.vocabulary import CHAPTERS
from tests.support import SAMPLE_DOCX, convert_with_libreoffice


def test_libreoffice_converts_the_sample_to_pdf(tmp_path):
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is required with LibreOffice: apt-get install poppler-utils")
    source = tmp_path / "规范.docx"
    shutil.copyfile(SAMPLE_DOCX, source)
    pdf = convert_with_libreoffice(source, "pdf", tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) >= 10
    assert "滨海市第一人民医院信息系统运维" in pages[0] and "V2.0" in pages[0]
    assert "文件版本历史" in pages[1]
    body = "\n".join(pages[3:])
    for number, title in enumerate(CHAPTERS, start=1):
        assert f"{number} {title}" in body or f"{number}  {title}" in body, title
    assert re.search(r"第\s*1\s*页", pages[3])  # chapter 1 is page 1: the cover and front matter stand apart


def test_libreoffice_opens_a_document_full_of_unicode_and_markup(tmp_path):
    from opsdoc.api import build
    from tests.support import edit_sample

    typed = "急诊 🚑 עברית & <b>粗体</b> {{ 7*7 }} é̃"
    result = build(edit_sample(tmp_path, {"项目背景!B1": typed}), tmp_path / "out")
    pdf = convert_with_libreoffice(result.output, "pdf", tmp_path)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    # bidirectional text is reordered by the PDF layout, so check the runs on either side of it
    assert "急诊 🚑" in text and "粗体</b> {{ 7*7 }} é̃" in text
