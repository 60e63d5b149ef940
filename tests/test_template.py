"""The bundled Word template is what its build script makes."""

import runpy

from tests.support import REPO


def test_committed_template_matches_its_build_script(tmp_path):
    script = runpy.run_path(str(REPO / "word_templates" / "build_template.py"))
    fresh = tmp_path / "template.docx"
    script["save_reproducibly"](script["build"](), fresh)
    committed = REPO / "word_templates" / "运维工作管理规范.docx"
    assert fresh.read_bytes() == committed.read_bytes(), "run: python word_templates/build_template.py"


def test_every_heading_level_is_in_the_documents_own_family():
    """黑体 and no theme colour for Heading 1–9, Title, Subtitle and their character styles: a level
    a user picks in Word must not come out in Word 2010's blue Cambria."""
    import docx
    from docx.oxml.ns import qn

    styles = docx.Document(str(REPO / "word_templates" / "运维工作管理规范.docx")).styles
    names = [f"Heading {n}" for n in range(1, 10)] + ["Title", "Subtitle"]
    names += [f"{name} Char" for name in names if f"{name} Char" in [s.name for s in styles]]
    assert len(names) >= 20
    looks = {}
    for name in names:
        rpr = styles[name].element.find(qn("w:rPr"))
        fonts = rpr.find(qn("w:rFonts"))
        looks[name] = (fonts.get(qn("w:eastAsia")), fonts.get(qn("w:ascii")), rpr.find(qn("w:color")))
    assert {look for look in looks.values()} == {("黑体", "Times New Roman", None)}


# Each version of the bundled template and the fingerprint of its bytes.
TEMPLATE_FINGERPRINTS = {"1.0": "a1331b6131e1f04c", "1.1": "e515a6597466dff6"}


def test_the_template_version_moves_with_the_template():
    """A change to the bundled template must raise TEMPLATE_VERSION (and record it here)."""
    import hashlib

    from opsdoc.generate.context import TEMPLATE_VERSION, default_template

    fingerprint = hashlib.sha256(default_template().read_bytes()).hexdigest()[:16]
    assert TEMPLATE_FINGERPRINTS.get(TEMPLATE_VERSION) == fingerprint, (
        f"the template changed: raise TEMPLATE_VERSION in opsdoc/generate/context.py and record {fingerprint}"
    )
