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

from opsdoc.office.docx_text import W
from opsdoc.office.output import deterministic_zip

STATUS_LABEL = "受控状态"
STATUSES = frozenset({"受控", "非受控", "草稿"})
STATUS_AFTER_LABEL = re.compile(rf"({STATUS_LABEL}[:：]\s*)(?:非受控|受控|草稿)")
RED = "C00000"
_PARTS = re.compile(r"word/(document|header[0-9]*|footer[0-9]*)\.xml")


def restamp(root: etree._Element, mark: str) -> None:
    """`mark` wherever the part `root` states the control status."""
    for text in root.iter(W + "t"):
        if text.text and STATUS_AFTER_LABEL.search(text.text):
            text.text = STATUS_AFTER_LABEL.sub(lambda found: found.group(1) + mark, text.text)
    for run in root.iter(W + "r"):  # the cover's stamp: a bordered run holding only the status
        if run.find(f"{W}rPr/{W}bdr") is not None:
            for piece in run.iter(W + "t"):
                if (piece.text or "").strip() in STATUSES:
                    piece.text = (piece.text or "").replace(piece.text.strip(), mark)
    for row in root.iter(W + "tr"):  # the cover's row: 受控状态： | 受控
        cells = row.findall(W + "tc")
        if len(cells) >= 2 and "".join(cells[0].itertext()).strip().startswith(STATUS_LABEL):
            pieces = [t for t in cells[-1].iter(W + "t") if (t.text or "").strip()]
            if pieces and "".join(t.text or "" for t in pieces).strip() in STATUSES:
                for piece in pieces:
                    piece.text = ""
                pieces[0].text = mark


def marked(docx: bytes, mark: str, banner: str | None = None) -> bytes:
    """The .docx with `mark` as its control status everywhere, and `banner` as a red first line of
    every header (so every page carries it, the cover included)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as package, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in package.infolist():
            data = package.read(entry.filename)
            if _PARTS.fullmatch(entry.filename):
                root = etree.fromstring(data)
                restamp(root, mark)
                if banner and entry.filename.startswith("word/header"):
                    _banner(root, banner)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(entry, data)
    return deterministic_zip(out.getvalue())


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
