"""The 作废 copy of a superseded PDF: the same pages with a red stamp drawn over each one.

The stamp is added as a PDF incremental update: the original bytes stay the file's prefix, and
new objects follow: a form XObject holding the stamp, the pages' resources with that XObject
added, and each page with one more content stream that draws it. The text is set in Noto Sans
CJK SC (Debian's fonts-noto-cjk, which the PDF export needs anyway), embedded as a subset of just
the stamp's characters: a standard font that is not embedded is drawn by each viewer with a font
of its choosing, full-width Latin letters and digits included. This copy is marked, not archival:
its XMP no longer claims PDF/A; the issued original keeps its conformance, its bytes are never touched.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable

from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTCollection, TTFont, TTLibError

from opsdoc.errors import OpsdocError

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
REFERENCE = rb"(\d+) 0 R"
WORD = "作废"
FACE = "Noto Sans CJK SC"
# Where Debian's fonts-noto-cjk puts it, for a machine whose fontconfig does not find it.
DEBIAN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class UnstampablePdf(OpsdocError):
    """Raised when a PDF's structure is not one the stamp can be added to (e.g. cross-reference streams)."""


class StampFontMissing(OpsdocError):
    """Raised when Noto Sans CJK SC, whose glyphs the stamp embeds, is not installed."""


def _stream(entries: bytes, data: bytes, compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(data)
        entries += b"/Filter/FlateDecode"
    return b"<<%s/Length %d>>\nstream\n" % (entries, len(data)) + data + b"\nendstream"


def _face(path: str) -> int | None:
    """The index of Noto Sans CJK SC among the faces of `path` (a .ttc or a single font); None if not there."""
    try:
        with open(path, "rb") as file:
            collection = file.read(4) == b"ttcf"
        with TTCollection(path, lazy=True) if collection else TTFont(path, lazy=True) as opened:
            faces = opened.fonts if isinstance(opened, TTCollection) else [opened]
            for index, face in enumerate(faces):
                names = face["name"]
                if (names.getDebugName(16) or names.getDebugName(1)) == FACE and "CFF " in face:
                    return index
    except (OSError, TTLibError):
        pass
    return None


def _font_file() -> tuple[str, int]:
    """The font file and face of Noto Sans CJK SC, bold where installed: as fontconfig finds it, else at Debian's paths."""
    candidates = list(DEBIAN_FONTS)
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run(
            [fc_match, "-f", "%{file}", f"{FACE}:bold"], capture_output=True, text=True, timeout=30
        ).stdout
        candidates.insert(0, found)  # fontconfig falls back to any font: _face tells whether it is the one
    for path in candidates:
        index = _face(path) if path else None
        if index is not None:
            return path, index
    raise StampFontMissing(None, f"作废章需要中文字体 {FACE}：请安装（apt-get install fonts-noto-cjk）")


class _Font:
    """Noto Sans CJK SC cut down to the characters of `text`, and the PDF objects that embed it.

    The font is CID-keyed: its glyphs are named cidNNNNN after their CIDs, which the subset's CFF
    charset keeps, so with /Identity-H each character is written as the 2-byte CID of its glyph.
    """

    def __init__(self, text: str):
        path, index = _font_file()
        with TTFont(path, fontNumber=index) as font:
            self.postscript_name = font["name"].getDebugName(6)
            scale = 1000 / font["head"].unitsPerEm
            metrics, head = font["OS/2"], font["head"]
            self.ascent, self.descent = round(metrics.sTypoAscender * scale), round(metrics.sTypoDescender * scale)
            self.cap_height = round(metrics.sCapHeight * scale)
            self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
            subsetter = Subsetter(Options(layout_features=[], name_IDs=[], notdef_outline=True))
            subsetter.populate(unicodes={ord(c) for c in text})
            subsetter.subset(font)
            glyphs = font.getBestCmap()
            self.cids: dict[str, int] = {c: self._cid(glyphs.get(ord(c), ".notdef")) for c in set(text)}
            self.widths: dict[int, int] = {
                self._cid(name): round(font["hmtx"][name][0] * scale) for name in font.getGlyphOrder()
            }
            cff = font["CFF "].cff
            cff.fontNames = [self.postscript_name]  # the collection's faces share one CFF, named after the first
            self.ros = cff.topDictIndex[0].ROS
            self.cff = font.getTableData("CFF ")

    @staticmethod
    def _cid(glyph: str) -> int:
        return 0 if glyph == ".notdef" else int(glyph.removeprefix("cid"))

    def show(self, text: str) -> bytes:
        """`text` as a string operand: the glyphs' CIDs, two bytes each, in hex."""
        return b"<" + b"".join(b"%04X" % self.cids[c] for c in text) + b">"

    def width(self, text: str) -> float:
        """The advance of `text`, in thousandths of the font size."""
        return sum(self.widths[self.cids[c]] for c in text)

    def embed(self, new_object: Callable[[bytes], int]) -> int:
        """Add the Type0 font and what it refers to; its object number."""
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(self.cff).digest()[:6])
        name = f"{tag}+{self.postscript_name}".encode()
        program = new_object(_stream(b"/Subtype/CIDFontType0C", self.cff))
        pairs = sorted((cid, c) for c, cid in self.cids.items() if cid)  # .notdef stands for any missing character
        mappings = b"".join(
            b"%d beginbfchar\n" % len(chunk)
            + b"".join(b"<%04X> <%s>\n" % (cid, c.encode("utf-16-be").hex().upper().encode()) for cid, c in chunk)
            + b"endbfchar\n"
            for chunk in (pairs[i : i + 100] for i in range(0, len(pairs), 100))  # at most 100 to a block
        )
        to_unicode = new_object(
            _stream(
                b"",
                b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                b"/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n"
                b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
                b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                + mappings
                + b"endcmap CMapName currentdict /CMap defineresource pop end end\n",
            )
        )
        descriptor = new_object(
            b"<</Type/FontDescriptor/FontName/%s/Flags 4/FontBBox[%d %d %d %d]/ItalicAngle 0"
            b"/Ascent %d/Descent %d/CapHeight %d/StemV 120/FontFile3 %d 0 R>>"
            % (name, *self.bbox, self.ascent, self.descent, self.cap_height, program)
        )
        registry, ordering, supplement = self.ros
        widths = b"".join(b"%d[%d]" % (cid, width) for cid, width in sorted(self.widths.items()))
        descendant = new_object(
            b"<</Type/Font/Subtype/CIDFontType0/BaseFont/%s/CIDSystemInfo<</Registry(%s)/Ordering(%s)/Supplement %d>>"
            b"/FontDescriptor %d 0 R/DW 1000/W[%s]>>"
            % (name, registry.encode(), ordering.encode(), supplement, descriptor, widths)
        )
        return new_object(
            b"<</Type/Font/Subtype/Type0/BaseFont/%s/Encoding/Identity-H/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>"
            % (name, descendant, to_unicode)
        )


def _stamp_stream(width: float, height: float, caption: str, font: _Font) -> bytes:
    """Big outlined 作废 across the page, and a filled caption line at the top."""
    cx, cy = width / 2, height / 2
    size = 130  # the bold face fills its em box: this leaves the frame a margin round the word
    # The word's middle on the frame's: half its advance to the left, its em box's middle on the baseline's level.
    x, y = -font.width(WORD) * size / 2000, -(font.ascent + font.descent) * size / 2000
    return b"\n".join(
        [
            b"q 0.85 0 0 RG 0.85 0 0 rg",
            # A frame round the big word, rotated 35 degrees about the page centre.
            f"q 0.8192 0.5736 -0.5736 0.8192 {cx:.2f} {cy:.2f} cm".encode(),
            b"6 w -190 -95 380 190 re S 2 w -178 -83 356 166 re S",
            f"BT /F1 {size} Tf 1 Tr 4 w {x:.2f} {y:.2f} Td ".encode() + font.show(WORD) + b" Tj ET Q",
            f"BT /F1 14 Tf 0 Tr 1 0 0 1 {36:.2f} {height - 24:.2f} Tm ".encode() + font.show(caption) + b" Tj ET",
            b"Q",
        ]
    )


def stamp_void(data: bytes, caption: str) -> bytes:
    """`data` with 作废 and `caption` on every page; raises UnstampablePdf for a PDF it cannot amend
    and StampFontMissing without Noto Sans CJK SC."""
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

    font = _Font(WORD + caption)
    font_number = font.embed(new_object)
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
            stamps[size_key] = new_object(
                _stream(
                    b"/Type/XObject/Subtype/Form/BBox[0 0 %.2f %.2f]/Resources<</Font<</F1 %d 0 R>>>>"
                    % (*size_key, font_number),
                    _stamp_stream(*size_key, caption, font),
                )
            )
        resource_number = int(resources.group(1))
        if resource_number not in resources_done:
            added[resource_number] = _with_stamp(objects[resource_number], stamps[size_key], number)
            resources_done.add(resource_number)
        save = new_object(_stream(b"", b"q\n", compress=False))
        restore = new_object(_stream(b"", b"Q q 1 0 0 1 %.2f %.2f cm /OpsdocVoid Do Q" % (x0, y0), compress=False))
        inner = contents.group(1).strip(b"[]").strip()
        added[number] = (
            body[: contents.start()] + b"/Contents[%d 0 R %s %d 0 R]" % (save, inner, restore) + body[contents.end() :]
        )
    metadata = re.search(rb"/Metadata\s*" + REFERENCE, objects.get(int(root.group(1)), b""))
    if metadata:
        number = int(metadata.group(1))
        xmp = _without_pdfa(objects[number], number)
        if xmp is not None:
            added[number] = _stream(b"/Type/Metadata/Subtype/XML", xmp, compress=False)
    return _append(data, added, size, trailer, int(starts[-1]))


def _without_pdfa(body: bytes, number: int) -> bytes | None:
    """The XMP of metadata stream `body` without its PDF/A identification (pdfaid:part, pdfaid:conformance…,
    as elements or as attributes); None if it had none."""
    stream = re.fullmatch(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", body, re.S)
    if not stream:
        raise UnstampablePdf(None, f"第 {number} 号对象（XMP 元数据）的结构无法识别，无法加作废标记")
    entries, xmp = stream.groups()
    if re.search(rb"/Filter\s*/FlateDecode", entries):
        xmp = zlib.decompressobj().decompress(xmp)
    elif b"/Filter" in entries:
        raise UnstampablePdf(None, f"第 {number} 号对象（XMP 元数据）的压缩方式无法识别，无法加作废标记")
    cleaned = re.sub(rb"\s*<pdfaid:(\w+)\b[^>]*?(?:/>|>.*?</pdfaid:\1\s*>)", b"", xmp, flags=re.S)
    cleaned = re.sub(rb"\s+pdfaid:\w+\s*=\s*(?:\"[^\"]*\"|'[^']*')", b"", cleaned)
    return cleaned if cleaned != xmp else None


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
