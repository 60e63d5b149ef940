"""The 作废 copy as a reader and poppler see it: the caption on every page in ASCII digits, every font
embedded, a PDF that still opens with its pages, the original as its prefix, and no PDF/A claim."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from opsdoc.control import stamp
from opsdoc.control.stamp import StampFontMissing, stamp_void
from opsdoc.generate.pdf import Archival, export_pdf
from tests.support import SAMPLE_DOCX, unavailable, uno_python

CAPTION = "作废：已被 V2.1 替代（2026-12-20），仅供查阅"


def poppler(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """A poppler-utils command's result; skipped without poppler unless CI demands it (OPSDOC_REQUIRE_SOFFICE=1)."""
    if not shutil.which(str(arguments[0])):
        unavailable("poppler-utils (pdftotext, pdffonts, pdfinfo)", "poppler-utils")
    return subprocess.run([str(a) for a in arguments], capture_output=True, text=True, timeout=60)


def pages(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", path).stdout, re.M).group(1))  # type: ignore[union-attr]


def tiny_pdf(metadata: bytes | None = None) -> bytes:
    """A one-page PDF with a classic cross-reference table, and the XMP `metadata` in its catalog if given."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R" + (b"/Metadata 6 0 R" if metadata else b"") + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/Resources 5 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
        b"<</Length 0>>\nstream\n\nendstream",
        b"<</ProcSet[/PDF]>>",
    ]
    if metadata:
        objects.append(b"<</Type/Metadata/Subtype/XML/Length %d>>\nstream\n%s\nendstream" % (len(metadata), metadata))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def stamped(tmp_path_factory) -> tuple[Path, Path]:
    """The sample exported as PDF/A-2b by LibreOffice (once for the module), and its 作废 copy."""
    uno_python()
    folder = tmp_path_factory.mktemp("stamp")
    original, copy = folder / "V2.0.pdf", folder / "V2.0_作废.pdf"
    export_pdf(SAMPLE_DOCX, original, archival=Archival(("QT-YW-GF-BH01-001",)))
    copy.write_bytes(stamp_void(original.read_bytes(), CAPTION))
    return original, copy


def test_every_page_shows_the_caption_with_ascii_digits(stamped):
    _, copy = stamped
    text = poppler("pdftotext", copy, "-").stdout.split("\f")[:-1]
    assert len(text) == pages(copy) > 1
    assert all(CAPTION in page for page in text)


def test_the_captions_latin_letters_and_digits_are_proportional_not_full_width(stamped):
    _, copy = stamped
    words = poppler("pdftotext", "-bbox", "-f", "1", "-l", "1", copy, "-").stdout
    found = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">V2\.1</word>', words)
    assert found, words
    x0, y0, x1, y1 = (float(v) for v in found.groups())
    assert x1 - x0 < 0.6 * 4 * (y1 - y0)  # four full-width characters would be four ems wide


def test_every_font_is_embedded_and_the_stamps_is_a_subset(stamped):
    _, copy = stamped
    fonts = poppler("pdffonts", copy).stdout.splitlines()[2:]
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\s+\d+\s+\d+$", line) for line in fonts), fonts
    stamps = [line for line in fonts if re.match(r"[A-Z]{6}\+NotoSansCJKsc-\S+\s+CID Type 0C\s+Identity-H\s", line)]
    assert len(stamps) == 1, fonts


def test_the_copy_opens_in_poppler_with_the_same_pages_and_the_original_as_its_prefix(stamped):
    original, copy = stamped
    info = poppler("pdfinfo", copy)
    assert info.returncode == 0 and not info.stderr, info.stderr
    assert not poppler("pdftotext", copy, "-").stderr
    assert pages(copy) == pages(original)
    assert copy.read_bytes().startswith(original.read_bytes())


def test_the_copy_no_longer_claims_pdfa_while_the_original_still_does(stamped):
    original, copy = stamped
    before, after = (poppler("pdfinfo", "-meta", path).stdout for path in (original, copy))
    assert "<pdfaid:part>2</pdfaid:part>" in before and "<pdfaid:conformance>B</pdfaid:conformance>" in before
    assert "pdfaid:part" not in after and "pdfaid:conformance" not in after
    assert "<dc:title>" in after and "<xmp:CreateDate>" in after  # the rest of the XMP stays


def test_pdfaid_given_as_attributes_is_removed_too():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2"'
        b' pdfaid:conformance="B" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="application/pdf"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    data = tiny_pdf(xmp)
    copy = stamp_void(data, CAPTION)
    metadata = copy[len(data) :].split(b"/Type/Metadata", 1)[1]
    assert b"pdfaid:part" not in metadata and b"pdfaid:conformance" not in metadata
    assert b'dc:format="application/pdf"' in metadata


def test_a_pdf_without_metadata_is_stamped_the_same_way_each_time(tmp_path):
    data = tiny_pdf()
    copy = stamp_void(data, CAPTION)
    assert copy == stamp_void(data, CAPTION)  # the register records the copy's SHA-256
    assert b"/Metadata" not in copy
    (tmp_path / "作废.pdf").write_bytes(copy)
    assert CAPTION in poppler("pdftotext", tmp_path / "作废.pdf", "-").stdout


def test_without_noto_sans_cjk_sc_the_message_says_what_to_install(tmp_path, monkeypatch):
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n')  # fontconfig knows no font
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    monkeypatch.setattr(stamp, "DEBIAN_FONTS", ())
    with pytest.raises(StampFontMissing, match="fonts-noto-cjk"):
        stamp_void(tiny_pdf(), CAPTION)
