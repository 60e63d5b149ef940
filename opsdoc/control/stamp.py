"""The 作废 copy of a superseded PDF: the same pages with a red stamp drawn over each one.

The stamp is added as a PDF incremental update: the original bytes stay the file's prefix, and
new objects follow: a form XObject holding the stamp, the pages' resources with that XObject
added, and each page with one more content stream that draws it. The text uses the PDF
standard CJK font STSong-Light (Adobe-GB1), which every PDF viewer maps to an installed Chinese
font, so no font file is embedded and no new dependency is needed. This copy is marked, not
archival: the issued original keeps its PDF/A conformance, its bytes are never touched.
"""

from __future__ import annotations

import re
import zlib

from opsdoc.errors import OpsdocError

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
REFERENCE = rb"(\d+) 0 R"


class UnstampablePdf(OpsdocError):
    """Raised when a PDF's structure is not one the stamp can be added to (e.g. cross-reference streams)."""


def _text(text: str) -> bytes:
    """A string for UniGB-UCS2-H: UTF-16 big-endian code units, as hex."""
    return b"<" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _stamp_stream(width: float, height: float, caption: str) -> bytes:
    """Big outlined 作废 across the page, and a filled caption line at the top."""
    cx, cy = width / 2, height / 2
    return b"\n".join(
        [
            b"q 0.85 0 0 RG 0.85 0 0 rg",
            # A frame round the big word, rotated 35 degrees about the page centre.
            f"q 0.8192 0.5736 -0.5736 0.8192 {cx:.2f} {cy:.2f} cm".encode(),
            b"6 w -190 -95 380 190 re S 2 w -178 -83 356 166 re S",
            b"BT /F1 150 Tf 1 Tr 4 w -150 -52 Td " + _text("作废") + b" Tj ET Q",
            f"BT /F1 14 Tf 0 Tr 1 0 0 1 {36:.2f} {height - 24:.2f} Tm ".encode() + _text(caption) + b" Tj ET",
            b"Q",
        ]
    )


def _font() -> bytes:
    return (
        b"<</Type/Font/Subtype/Type0/BaseFont/STSong-Light/Encoding/UniGB-UCS2-H/DescendantFonts["
        b"<</Type/Font/Subtype/CIDFontType0/BaseFont/STSong-Light"
        b"/CIDSystemInfo<</Registry(Adobe)/Ordering(GB1)/Supplement 4>>/DW 1000"
        b"/FontDescriptor<</Type/FontDescriptor/FontName/STSong-Light/Flags 6/FontBBox[-25 -254 1000 880]"
        b"/ItalicAngle 0/Ascent 880/Descent -120/CapHeight 880/StemV 93>>>>]>>"
    )


def stamp_void(data: bytes, caption: str) -> bytes:
    """`data` with 作废 and `caption` on every page; raises UnstampablePdf for a PDF it cannot amend."""
    starts = re.findall(rb"startxref\s+(\d+)\s+%%EOF", data)
    trailers = re.findall(rb"trailer\s*<<(.*?)>>\s*startxref", data, re.S)
    if not starts or not trailers:
        raise UnstampablePdf(None, "PDF 没有可识别的交叉引用表（可能使用了交叉引用流），无法加作废标记")
    trailer = trailers[-1]
    size_match = re.search(rb"/Size (\d+)", trailer)
    root = re.search(rb"/Root " + REFERENCE, trailer)
    if not size_match or not root:
        raise UnstampablePdf(None, "PDF 的 trailer 不完整，无法加作废标记")
    objects = {int(m.group(1)): m.group(2) for m in OBJECT.finditer(data)}  # later definitions win
    pages = [
        (number, body)
        for number, body in objects.items()
        if body.startswith(b"<<") and b"stream" not in body and re.search(rb"/Type\s*/Page(?![s\w])", body)
    ]
    if not pages:
        raise UnstampablePdf(None, "PDF 中没有找到页面，无法加作废标记")

    size = int(size_match.group(1))
    added: dict[int, bytes] = {}

    def new_object(body: bytes) -> int:
        nonlocal size
        added[size] = body
        size += 1
        return size - 1

    font = new_object(_font())
    stamps: dict[tuple[float, float], int] = {}
    resources_done: set[int] = set()
    for number, body in pages:
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", body)
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|" + REFERENCE + rb")", body)
        resources = re.search(rb"/Resources\s*" + REFERENCE, body)
        if not box or not contents or not resources:
            raise UnstampablePdf(None, f"第 {number} 号页面对象的结构无法识别，无法加作废标记")
        x0, y0, x1, y1 = (float(v) for v in box.groups())
        size_key = (x1 - x0, y1 - y0)
        if size_key not in stamps:
            content = zlib.compress(_stamp_stream(*size_key, caption))
            stamps[size_key] = new_object(
                b"<</Type/XObject/Subtype/Form/BBox[0 0 %.2f %.2f]/Resources<</Font<</F1 %d 0 R>>>>"
                b"/Filter/FlateDecode/Length %d>>\nstream\n"
                % (*size_key, font, len(content))
                + content
                + b"\nendstream"
            )
        resource_number = int(resources.group(1))
        if resource_number not in resources_done:
            added[resource_number] = _with_stamp(objects[resource_number], stamps[size_key], number)
            resources_done.add(resource_number)
        save = new_object(b"<</Length 2>>\nstream\nq\n\nendstream")
        draw = b"Q q 1 0 0 1 %.2f %.2f cm /OpsdocVoid Do Q" % (x0, y0)
        restore = new_object(b"<</Length %d>>\nstream\n" % len(draw) + draw + b"\nendstream")
        inner = contents.group(1).strip(b"[]").strip()
        added[number] = (
            body[: contents.start()] + b"/Contents[%d 0 R %s %d 0 R]" % (save, inner, restore) + body[contents.end() :]
        )
    return _append(data, added, size, trailer, int(starts[-1]))


def _with_stamp(resources: bytes, stamp: int, page: int) -> bytes:
    """The resources dictionary with /OpsdocVoid among its XObjects (shared by pages alike)."""
    entry = b"/OpsdocVoid %d 0 R" % stamp
    if b"/XObject" not in resources:
        return b"<<" + b"/XObject<<" + entry + b">>" + resources.strip()[2:]
    inline = re.search(rb"/XObject\s*<<", resources)
    if not inline:
        raise UnstampablePdf(None, f"第 {page} 号页面的资源结构无法识别，无法加作废标记")
    return resources[: inline.end()] + entry + resources[inline.end() :]


def _append(data: bytes, added: dict[int, bytes], size: int, trailer: bytes, previous: int) -> bytes:
    """The incremental update: the new objects, their cross-reference section and a trailer."""
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = {}
    for number in sorted(added):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + added[number] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number in sorted(offsets):  # one subsection per object keeps the table simple and valid
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    kept = b"".join(m.group(0) for m in re.finditer(rb"/(?:Root|Info) \d+ 0 R|/ID\s*\[[^\]]*\]", trailer))
    out += b"trailer\n<</Size %d/Prev %d%s>>\nstartxref\n%d\n%%%%EOF\n" % (size, previous, kept, xref)
    return bytes(out)
