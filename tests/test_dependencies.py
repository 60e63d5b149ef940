"""opsdoc renders as docxtpl renders and saves as python-docx saves, without loading either.

opsdoc.generate.prepared takes from them once per template what every document shares, and
opsdoc.generate.render does docxtpl's steps from there; pyproject.toml holds both libraries to the
releases tested. When a new release is allowed, these tests say what it changed, instead of a
document coming out different.
"""

from __future__ import annotations

import base64
import inspect
import io
import re
import zipfile
from datetime import datetime, time
from importlib import metadata
from pathlib import Path

import docx
import docx.opc.pkgwriter
import docxtpl
import pytest
from lxml import etree

from opsdoc.contract.vocabulary import DOCUMENT_KIND
from opsdoc.generate import render
from opsdoc.generate.context import build_context
from opsdoc.generate.prepared import FOOTNOTES_TYPE, prepared
from opsdoc.generate.sandbox import jinja_environment
from opsdoc.pipeline import check
from tests.support import REPO, SAMPLE, template_variant

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _opsdoc_sets_its_properties(properties, document, context) -> None:
    """What save_document sets, through python-docx's own core properties."""
    info, last = document.info, document.revisions[-1]
    properties.title = context["doc"]["title"]
    properties.subject = DOCUMENT_KIND
    properties.identifier = info.file_code
    properties.version = info.version
    properties.author = info.org
    properties.last_modified_by = last.approver
    properties.content_status = "草稿" if context["doc"]["draft"] else info.control_status
    properties.category = info.secrecy
    properties.language = "zh-CN"
    properties.revision = len(document.revisions)
    properties.created = datetime.combine(document.revisions[0].revised_on, time())
    properties.modified = datetime.combine(last.approved_on, time())


def _theirs(template: Path, document, context) -> list[tuple[str, bytes]]:
    """The entries docxtpl's own render and python-docx's own save give, with opsdoc's properties."""
    rendered = docxtpl.DocxTemplate(template)
    rendered.render(context, jinja_env=jinja_environment(), autoescape=True)
    _opsdoc_sets_its_properties(rendered.docx.core_properties, document, context)
    for part in rendered.docx.part.package.parts:
        if part.partname == "/docProps/app.xml":
            part._blob = render._extended_properties(part.blob, document, context["doc"]["title"])
    saved = io.BytesIO()
    rendered.docx.save(saved)
    return _entries(saved.getvalue())


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [(entry.filename, package.read(entry)) for entry in package.infolist()]


def _compared(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The entries as compared: the main document as canonical XML. opsdoc writes the rendered body as
    Jinja gave it instead of reading it into python-docx's tree and writing it again (seconds at 20,000
    rows), so an empty element may be <w:t></w:t> where python-docx writes <w:t/>: the same XML."""
    return [
        (name, etree.tostring(etree.fromstring(data), method="c14n") if name == "word/document.xml" else data)
        for name, data in entries
    ]


def _made_by_python_docx(folder: Path, *, footnotes: bool = False, core: bool = True) -> Path:
    """A small company template: tags in the body, a table, a picture, a header, a footer, the core
    properties; with footnotes (which python-docx cannot add: written into the package), without core.xml."""
    made = docx.Document()
    made.add_paragraph("{{ doc.title }}")
    made.add_paragraph("{% for member in team %}{{ member.name }}\t{{ member.role }}\n{% endfor %}")
    table = made.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "{{ doc.file_code }}", "{{ doc.version }}"
    pixel = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
    )
    made.add_picture(io.BytesIO(pixel))
    made.add_picture(io.BytesIO(pixel))
    made.sections[0].header.paragraphs[0].text = "{{ doc.org }} {{ doc.file_code }}"
    made.sections[0].footer.paragraphs[0].text = "{{ doc.version }}"
    made.add_section()
    made.core_properties.title = "{{ doc.project_name }}"
    made.core_properties.comments = "{{ doc.customer }} & 客户"
    path = folder / "python-docx.docx"
    made.save(path)
    package = dict(_entries(path.read_bytes()))
    if footnotes:
        package["word/footnotes.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W}">'
            '<w:footnote w:id="1"><w:p><w:r><w:t>{{ doc.customer }}</w:t></w:r></w:p></w:footnote></w:footnotes>'
        ).encode()
        package["[Content_Types].xml"] = package["[Content_Types].xml"].replace(
            b"</Types>", f'<Override PartName="/word/footnotes.xml" ContentType="{FOOTNOTES_TYPE}"/></Types>'.encode()
        )
        package["word/_rels/document.xml.rels"] = package["word/_rels/document.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Id="rIdNotes" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'footnotes" Target="footnotes.xml"/></Relationships>',
        )
    if not core:
        del package["docProps/core.xml"]
        package["_rels/.rels"] = re.sub(rb"<Relationship [^>]*core-properties[^>]*/>", b"", package["_rels/.rels"])
    with zipfile.ZipFile(path, "w") as target:
        for name, data in package.items():
            target.writestr(name, data)
    return path


def _column_loop(folder: Path) -> Path:
    return template_variant(  # the 服务周期 table's last three cells: a column loop (docxtpl's table repair)
        folder,
        ("{{ period.start }}", "{%tc for x in ['甲列', '乙列'] %}"),
        ("{{ period.end }}", "{{ x }}"),
        ("{{ period.note }}", "{%tc endfor %}"),
    )


TEMPLATES = {
    "headers, footers, properties, pictures": lambda folder: _made_by_python_docx(folder),
    "footnotes": lambda folder: _made_by_python_docx(folder, footnotes=True),
    "no core properties": lambda folder: _made_by_python_docx(folder, core=False),
    "column loops": _column_loop,
}


@pytest.mark.parametrize("kind", TEMPLATES)
def test_a_render_gives_what_docxtpl_and_python_docx_give(kind, tmp_path, monkeypatch):
    """opsdoc renders from the template prepared once (opsdoc.generate.prepared), without docxtpl or
    python-docx: every entry of the package, in its order, is what their own render and save give."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    prepared.cache_clear()
    template = TEMPLATES[kind](tmp_path)
    checked = check(SAMPLE)
    document, context = checked.workbook.document, build_context(checked.workbook.document, checked.conventions)
    ours = _entries(render.render_document(document, context, template))
    theirs = _theirs(template, document, context)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    assert _compared(ours) == _compared(theirs)
    prepared.cache_clear()  # from the cache, as a later run renders: the same again
    assert _entries(render.render_document(document, context, template)) == ours
    prepared.cache_clear()


def test_the_docxtpl_steps_opsdoc_calls_without_an_instance_still_need_none():
    for name in ("patch_xml", "fix_tables", "resolve_listing"):
        method = getattr(docxtpl.DocxTemplate, name, None)
        assert method is not None, f"docxtpl {metadata.version('docxtpl')} no longer has DocxTemplate.{name}"
        assert "self." not in inspect.getsource(method), f"docxtpl's {name} now uses its instance"


def test_the_python_docx_internals_opsdoc_prepares_with_are_there():
    version = metadata.version("python-docx")
    writer = docx.opc.pkgwriter.PackageWriter
    missing = [
        name
        for name in ("_write_content_types_stream", "_write_pkg_rels", "_write_parts")
        if not callable(getattr(writer, name, None))
    ]
    assert missing == [], f"python-docx {version} no longer has PackageWriter.{missing}, which prepared.py uses"


def test_the_tested_releases_are_the_bounds_pyproject_allows():
    """The upper bounds admit the installed (tested) release and nothing of a later minor version."""
    text = Path(REPO / "pyproject.toml").read_text(encoding="utf-8")
    for package in ("docxtpl", "python-docx"):
        found = re.search(rf'"{package}>=([\d.]+),<([\d.]+)"', text)
        assert found, f"{package} has no upper bound in pyproject.toml"
        low, high = (tuple(int(p) for p in v.split(".")) for v in found.groups())
        installed = tuple(int(p) for p in metadata.version(package).split(".")[:2])
        assert low[:2] <= installed < high, f"{package} {installed} is outside the tested range {found.groups()}"


def test_the_names_opsdoc_reads_packages_by_are_python_docxs():
    """docx_text names the main document's content type and the core properties' relationship itself, so
    that checking a package (and the 对比稿) does not load python-docx."""
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE

    from opsdoc.office import docx_text

    assert docx_text.MAIN_DOCUMENT == CONTENT_TYPE.WML_DOCUMENT_MAIN
    assert docx_text.CORE_PROPERTIES == RELATIONSHIP_TYPE.CORE_PROPERTIES
