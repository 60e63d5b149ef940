"""What opsdoc relies on inside docxtpl and python-docx is still there, with the shape it overrides.

opsdoc.generate.render overrides docxtpl's rendering steps and writes through python-docx's
package writer; pyproject.toml holds both to the releases tested. When a new release is
allowed, these tests say by name what it moved, instead of a document coming out wrong.
"""

from __future__ import annotations

import inspect
import re
from importlib import metadata
from pathlib import Path

import docx.opc.part
import docx.opc.pkgwriter
import docx.parts.document
import docxtpl
import pytest

from opsdoc.generate import render
from tests.support import REPO

# The methods of its own that docxtpl's render() must still call for an override to take effect.
CALLED_BY_RENDER = {"render_xml_part", "fix_tables", "fix_docpr_ids", "map_tree", "init_docx", "get_xml", "patch_xml"}


def _overrides() -> list[str]:
    return [
        name
        for name, member in vars(render._PreparedTemplate).items()
        if inspect.isfunction(member) and not name.startswith("__")
    ]


@pytest.mark.parametrize("name", _overrides())
def test_each_overridden_docxtpl_method_still_exists_with_its_parameters(name):
    version = metadata.version("docxtpl")
    original = getattr(docxtpl.DocxTemplate, name, None)
    assert original is not None, (
        f"docxtpl {version} no longer has DocxTemplate.{name}, which opsdoc.generate.render overrides: "
        "port _PreparedTemplate to the new release or keep docxtpl below it in pyproject.toml"
    )
    ours = list(inspect.signature(getattr(render._PreparedTemplate, name)).parameters)
    theirs = list(inspect.signature(original).parameters)
    assert ours == theirs, f"docxtpl {version} changed DocxTemplate.{name}{theirs}; opsdoc overrides it as {ours}"


def test_docxtpl_render_still_goes_through_the_overridden_steps():
    source = inspect.getsource(docxtpl.DocxTemplate)
    gone = sorted(name for name in CALLED_BY_RENDER if f"self.{name}(" not in source)
    assert gone == [], f"docxtpl {metadata.version('docxtpl')} no longer calls {gone}: opsdoc's overrides would not run"


def test_the_python_docx_internals_opsdoc_writes_through_are_there():
    version = metadata.version("python-docx")
    writer = docx.opc.pkgwriter.PackageWriter
    needed = {
        "PackageWriter._write_content_types_stream": getattr(writer, "_write_content_types_stream", None),
        "PackageWriter._write_pkg_rels": getattr(writer, "_write_pkg_rels", None),
        "PackageWriter._write_parts": getattr(writer, "_write_parts", None),
        "Part.before_marshal": getattr(docx.opc.part.Part, "before_marshal", None),
        "DocumentPart.blob": getattr(docx.parts.document.DocumentPart, "blob", None),
    }
    missing = sorted(name for name, found in needed.items() if found is None)
    assert missing == [], f"python-docx {version} no longer has {missing}, which opsdoc.generate.render uses"
    # The parts kept as bytes set these private attributes (render._as_bytes): they must still mean the same.
    part_source = inspect.getsource(docx.opc.part)
    assert "self._blob" in part_source and "self._element" in part_source, f"python-docx {version} renamed Part's data"


def test_the_tested_releases_are_the_bounds_pyproject_allows():
    """The upper bounds admit the installed (tested) release and nothing of a later minor version."""
    text = Path(REPO / "pyproject.toml").read_text(encoding="utf-8")
    for package in ("docxtpl", "python-docx"):
        found = re.search(rf'"{package}>=([\d.]+),<([\d.]+)"', text)
        assert found, f"{package} has no upper bound in pyproject.toml"
        low, high = (tuple(int(p) for p in v.split(".")) for v in found.groups())
        installed = tuple(int(p) for p in metadata.version(package).split(".")[:2])
        assert low[:2] <= installed < high, f"{package} {installed} is outside the tested range {found.groups()}"
