"""A Word template prepared for rendering: all that every document made from it shares, so that a
render (opsdoc.generate.render) needs Jinja and lxml only.

python-docx opens the template and docxtpl cleans its tags once per template, and the result is kept
between runs in the template cache (opsdoc.generate.cache): the Jinja source of each part a render
changes (the body, every header and footer) as docxtpl hands it to Jinja, and every other entry of the
package as python-docx saves it, in python-docx's order (compressed once per process). Loading the two libraries and
opening the template cost 70 ms of the 0.3 s a sample build takes; the document is the same, byte for byte.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import marshal
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsdoc.generate.cache import Cache
from opsdoc.office.output import Deflated, deflated

# What a render does with each entry of the package.
BODY = "body"  # the main document: its body rendered between the head and tail kept here
HEADER_FOOTER = "header-footer"  # rendered from its source, then read and written as python-docx does
FOOTNOTES = "footnotes"  # rendered as docxtpl renders footnotes (see render)
CORE = "core"  # the core properties, set from the document
APP = "app"  # the extended properties, set from the document
KEPT = "kept"  # the same in every document
FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


@dataclass(frozen=True)
class Prepared:
    entries: tuple[tuple[str, str], ...]  # (zip entry name, what a render does with it), in the order saved
    kept: dict[str, Deflated]  # every KEPT entry, compressed
    sources: dict[str, str]  # the Jinja source of the body and of each header and footer, by entry name
    footnotes: dict[str, bytes]  # each FOOTNOTES entry as the template has it
    sections: int  # docxtpl renders footnotes once per section of the document
    document: bytes  # the whole main document part, as python-docx writes it
    column_loops: bool  # `{%tc` in the body: docxtpl's table repair is needed
    core: bytes  # docProps/core.xml as python-docx writes it before a property is set
    app: bytes  # docProps/app.xml as the template has it (b"" for none)

    @property
    def head(self) -> bytes:
        """The main document part before its body."""
        return self.document[: self.document.index(b"<w:body")]

    @property
    def tail(self) -> bytes:
        """And after it."""
        return self.document[self.document.rindex(b"</w:body>") + len(b"</w:body>") :]


def _depends() -> list[str | Path]:
    """What a prepared template depends on besides the template: this module, the two libraries' code
    that made it (found without loading them), and lxml, which wrote the entries python-docx serialized."""
    from lxml import etree

    depends: list[str | Path] = [Path(__file__), f"lxml {etree.LXML_VERSION} libxml2 {etree.LIBXML_VERSION}"]
    for name, module in (("docxtpl", "template.py"), ("docx", "__init__.py")):  # docx's holds its version
        spec = importlib.util.find_spec(name)  # a top-level package is found without being imported
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(name)
        depends.append(Path(spec.origin).with_name(module))
    return depends


_PREPARED = Cache("prepared", *_depends())


@functools.lru_cache(maxsize=4)
def prepared(data: bytes) -> Prepared:
    """The template (its bytes, checked by preflight) prepared: from the cache, or made and stored."""
    stored = marshal.loads(_PREPARED.get(data, lambda: marshal.dumps(_made(data))))
    # compressed here, once per process: the cache keeps what python-docx wrote, not what this zlib makes of it
    kept = {name: deflated(entry) for name, entry in stored.pop("kept").items()}
    return Prepared(entries=tuple(map(tuple, stored.pop("entries"))), kept=kept, **stored)


def _made(data: bytes) -> dict[str, Any]:
    """What prepared() keeps, as plain data: python-docx and docxtpl load here only."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.oxml import serialize_part_xml
    from docx.opc.part import Part
    from docx.opc.parts.coreprops import CorePropertiesPart
    from docx.opc.pkgwriter import PackageWriter
    from docx.oxml.parser import parse_xml
    from docx.parts.document import DocumentPart
    from docxtpl import DocxTemplate
    from lxml import etree

    document = Document(io.BytesIO(data))
    document.core_properties  # noqa: B018 - python-docx adds its default part to a template without one
    body = etree.tostring(document.element.body, encoding="unicode", pretty_print=False)  # docxtpl's get_xml
    package = document.part.package
    main = document.part.partname.membername
    sources = {main: DocxTemplate.patch_xml(None, body)}
    for rel in document.part.rels.values():  # docxtpl renders the headers and footers its main part names
        if rel.reltype in (RELATIONSHIP_TYPE.HEADER, RELATIONSHIP_TYPE.FOOTER):
            part = rel.target_part
            xml = etree.tostring(parse_xml(part.blob), encoding="unicode", pretty_print=False)  # its get_part_xml
            sources[part.partname.membername] = DocxTemplate.patch_xml(None, xml)
    roles: dict[str, str] = {}
    footnotes: dict[str, bytes] = {}
    for part in package.parts:
        name = part.partname.membername
        if isinstance(part, DocumentPart):
            roles[name] = BODY
        elif name in sources:
            roles[name] = HEADER_FOOTER
        elif isinstance(part, CorePropertiesPart):
            roles[name] = CORE
        elif part.partname == "/docProps/app.xml" and type(part) is Part:
            roles[name] = APP
        elif (
            part.content_type == FOOTNOTES_TYPE and type(part) is Part
        ):  # docxtpl's rendering reaches a plain part only
            roles[name] = FOOTNOTES
            footnotes[name] = part.blob
    writer = _Entries()
    parts = list(package.parts)
    PackageWriter._write_content_types_stream(writer, parts)  # type: ignore[no-untyped-call]  # untyped in python-docx
    PackageWriter._write_pkg_rels(writer, package.rels)  # type: ignore[no-untyped-call]  # untyped in python-docx
    PackageWriter._write_parts(writer, parts)  # type: ignore[arg-type]  # it has the two methods PackageWriter calls
    app = next((blob for name, blob in writer.entries if roles.get(name) == APP), b"")
    core = next(blob for name, blob in writer.entries if roles.get(name) == CORE)
    return {
        "entries": [(name, roles.get(name, KEPT)) for name, _blob in writer.entries],
        "kept": {name: blob for name, blob in writer.entries if name not in roles},
        "sources": sources,
        "footnotes": footnotes,
        "sections": len(document.sections),
        "document": serialize_part_xml(document.element),
        "column_loops": re.search(r"\{%-?\s*tc\b", re.sub(r"<[^>]+>", "", body)) is not None,
        "core": core,
        "app": app,
    }


class _Entries:
    """python-docx's package writer, collecting (name, bytes) instead of writing a zip."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, bytes]] = []

    def write(self, pack_uri: Any, blob: bytes) -> None:
        self.entries.append((pack_uri.membername, blob))

    def close(self) -> None:
        pass
