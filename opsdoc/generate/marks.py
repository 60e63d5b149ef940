"""The marks by which a page of the document says what it is: 受控, 非受控, 对比稿, 作废.

A built document states its control status in three places: the cover's red stamp, the
cover's 受控状态 row, and the footer of every page (受控状态：受控). The archived master keeps
what the workbook says; each thing made from it later (a copy handed out, the 对比稿, the
作废 copy) says what it is in those same places, so no page of it can be taken for the master.
Found by their text, so documents issued by any earlier template are marked alike.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile

from lxml import etree

from opsdoc.errors import UnusableDocument
from opsdoc.office.docx_text import W
from opsdoc.office.output import deterministic_package

STATUS_LABEL = "受控状态"
STATUSES = frozenset({"受控", "非受控", "草稿"})
STATUS_AFTER_LABEL = re.compile(rf"({STATUS_LABEL}[:：]\s*)(?:非受控|受控|草稿)")
RED = "C00000"
PARTS = re.compile(r"word/(document|header[0-9]*|footer[0-9]*)\.xml")  # the body, every header and footer


def restamp(root: etree._Element, mark: str) -> int:
    """`mark` wherever the part `root` states the control status; how many places that was."""
    count = 0
    for text in root.iter(W + "t"):
        if text.text and STATUS_AFTER_LABEL.search(text.text):
            text.text, found = STATUS_AFTER_LABEL.subn(lambda found: found.group(1) + mark, text.text)
            count += found
    for run in root.iter(W + "r"):  # the cover's stamp: a bordered run holding only the status
        if run.find(f"{W}rPr/{W}bdr") is not None:
            for piece in run.iter(W + "t"):
                if (piece.text or "").strip() in STATUSES:
                    piece.text = (piece.text or "").replace(piece.text.strip(), mark)
                    count += 1
    for row in root.iter(W + "tr"):  # the cover's row: 受控状态： | 受控
        cells = row.findall(W + "tc")
        if len(cells) >= 2 and "".join(cells[0].itertext()).strip().startswith(STATUS_LABEL):
            pieces = [t for t in cells[-1].iter(W + "t") if (t.text or "").strip()]
            if pieces and "".join(t.text or "" for t in pieces).strip() in STATUSES:
                for piece in pieces:
                    piece.text = ""
                pieces[0].text = mark
                count += 1
    return count


def marked(docx: bytes, mark: str, banner: str | None = None, *, required: bool = False) -> bytes:
    """The .docx with `mark` as its control status everywhere, and `banner` as a red first line of
    every header (so every page carries it, the cover included).

    With `required`, a document whose footers or cover state no control status where the
    template puts it (a hand-edited one) is refused: a copy must never go out unmarked.
    """
    footers = cover = 0
    members: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        for entry in package.infolist():
            data = package.read(entry.filename)
            if PARTS.fullmatch(entry.filename):
                root = etree.fromstring(data)
                count = restamp(root, mark)
                footers += count if entry.filename.startswith("word/footer") else 0
                cover += count if entry.filename == "word/document.xml" else 0
                if banner and entry.filename.startswith("word/header"):
                    _banner(root, banner)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            members.append((entry.filename, data))
    if required and not (footers and cover):
        where = "页脚" if not footers else "封面"
        raise UnusableDocument(None, f"文件的{where}没有按模板写出“受控状态：”，无法在每页标明副本的受控状态")
    return deterministic_package(members)


def _banner(header: etree._Element, text: str) -> None:
    """A bold red centred line above the header's own, in the header's first paragraph's size."""
    first = header.find(W + "p")
    line = etree.Element(W + "p")
    properties = (
        copy.deepcopy(first.find(W + "pPr")) if first is not None and first.find(W + "pPr") is not None else None
    )
    if properties is not None:
        for border in properties.findall(W + "pBdr"):  # the header's rule stays under the header's own line
            properties.remove(border)
        line.append(properties)
    else:
        properties = etree.SubElement(line, W + "pPr")
    justification = properties.find(W + "jc")
    if justification is None:
        justification = etree.SubElement(properties, W + "jc")
    justification.set(W + "val", "center")
    run = etree.SubElement(line, W + "r")
    run_properties = etree.SubElement(run, W + "rPr")
    etree.SubElement(run_properties, W + "b")
    etree.SubElement(run_properties, W + "color").set(W + "val", RED)
    etree.SubElement(run, W + "t").text = text
    header.insert(list(header).index(first) if first is not None else len(header), line)
