"""The laid-out pages of a document, read from its PDF as a reader sees them: what would stop a
document controller issuing it (a cover spilling onto a second page, a running header on two
lines, a page with almost nothing on it, a heading or caption left alone at the foot of a page).

The text and where it stands come from poppler's `pdftotext -bbox-layout` (poppler-utils, which
opsdoc's PDF tests use too): one line of text per row of words, in points from the top.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from opsdoc.contract.findings import Finding, Place, finding
from opsdoc.errors import LibreOfficeMissing, UnusableDocument
from opsdoc.office.docx_text import PageSetup

XHTML = "{http://www.w3.org/1999/xhtml}"
SAME_ROW = 2.5  # points: words whose tops differ by less stand on one line
FRONT_TITLE = "文件版本历史"  # the page after the cover begins with it
MARKS = ("草稿",)  # a draft's own header line, above the running header
HEADING = re.compile(r"^\d+(?:\.\d+)*\s*\S.{0,40}$")
CAPTION = re.compile(r"^表\s*\d+\s")
HEADING_POINTS = 16.0  # pdftotext's height of a Heading 2 line (14 pt) is 18; of a 12 pt body line, 13.7
NEARLY_BLANK = (2, 30)  # at most this many body lines and characters


@dataclass(frozen=True)
class Line:
    top: float
    bottom: float
    text: str


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as the PDF counts
    height: float
    lines: tuple[Line, ...]  # top to bottom


def read_pages(pdf: Path) -> list[Page]:
    """Every page of the PDF with its lines of text; UnusableDocument if it is not a readable PDF."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise LibreOfficeMissing(None, "检查版面需要 poppler 的 pdftotext：请安装（apt-get install poppler-utils）")
    try:
        done = subprocess.run([tool, "-bbox-layout", str(pdf), "-"], capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise UnusableDocument(pdf, "读取 PDF 版面超时") from None
    if done.returncode != 0:
        raise UnusableDocument(pdf, f"不是可读的 PDF（{done.stderr.decode('utf-8', 'replace').strip()[:200]}）")
    root = ElementTree.fromstring(done.stdout)
    pages = []
    for number, page in enumerate(root.iter(f"{XHTML}page"), start=1):
        words = [
            (float(word.get("yMin")), float(word.get("yMax")), float(word.get("xMin")), word.text or "")
            for word in page.iter(f"{XHTML}word")
        ]
        pages.append(Page(number, float(page.get("height")), _rows(words)))
    return pages


def _rows(words: list[tuple[float, float, float, str]]) -> tuple[Line, ...]:
    """Words gathered into lines by their tops, each line's words left to right."""
    rows: list[list[tuple[float, float, float, str]]] = []
    for word in sorted(words):
        if rows and word[0] - rows[-1][0][0] < SAME_ROW:
            rows[-1].append(word)
        else:
            rows.append([word])
    return tuple(
        Line(row[0][0], max(w[1] for w in row), " ".join(w[3] for w in sorted(row, key=lambda w: w[2]))) for row in rows
    )


def page_findings(pages: list[Page], setup: PageSetup | None) -> list[Finding]:
    """What the laid-out pages show that a 文控 would not issue, each at its page."""
    if not pages or setup is None or setup.top is None or setup.bottom is None:
        return []
    top, bottom = setup.top / 20, setup.bottom / 20  # twips → points
    findings: list[Finding] = []
    front = next((p.number for p in pages if any(_bare(line.text) == FRONT_TITLE for line in p.lines)), None)
    if front is not None and front > 2:
        findings.append(
            finding(
                "cover-overflow",
                _page(2),
                f"封面占了 {front - 1} 页：第 2 页起是封面溢出的内容；请缩短封面上的名称，或检查模板的封面版式",
            )
        )
    for page in pages[1:]:
        header = [line for line in page.lines if line.bottom <= top and not line.text.startswith(MARKS)]
        if len(header) > 1:
            findings.append(
                finding(
                    "header-wrapped",
                    _page(page.number, header[-1].text),
                    f"页眉折成了 {len(header)} 行：页眉应在一行内（文件编码和文件名称）",
                )
            )
        body = [line for line in page.lines if top < line.top and line.bottom < page.height - bottom]
        lines, characters = NEARLY_BLANK
        if len(body) <= lines and sum(len(_bare(line.text)) for line in body) <= characters:
            shown = "；".join(line.text for line in body) or "（空白）"
            findings.append(
                finding("near-blank-page", _page(page.number, shown[:30]), "这一页几乎是空白：只有「" + shown + "」")
            )
        elif body and page is not pages[-1] and _stands_alone(body[-1]):
            findings.append(
                finding(
                    "heading-at-page-foot",
                    _page(page.number, body[-1].text[:30]),
                    "标题或表题单独留在页面底部，内容在下一页：标题应与其后的内容在同一页",
                )
            )
    return findings


def _stands_alone(line: Line) -> bool:
    text = line.text.strip()
    return bool(CAPTION.match(text)) or (line.bottom - line.top >= HEADING_POINTS and bool(HEADING.match(text)))


def _bare(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _page(number: int, excerpt: str | None = None) -> Place:
    return Place(part="pages", page=number, excerpt=excerpt)


def splittable_rows(document_xml: bytes) -> int:
    """How many table rows of a document may break across a page (no w:cantSplit): a record split
    over two pages is read as two."""
    count, at = 0, 0
    while (start := document_xml.find(b"<w:tr", at)) != -1:  # a 25,000-row register: no list of its rows
        at = start + 5
        if document_xml[at : at + 1] not in (b">", b" "):  # <w:trPr>, <w:trHeight>: not a row
            continue
        head = document_xml[start : document_xml.find(b"<w:tc", at)]  # the row's properties
        count += b"<w:cantSplit" not in head and b"<w:tblHeader" not in head
    return count
