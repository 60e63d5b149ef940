"""The bundled Word template is what its build script makes."""

import runpy

from tests.support import REPO


def test_committed_template_matches_its_build_script(tmp_path):
    script = runpy.run_path(str(REPO / "word_templates" / "build_template.py"))
    fresh = tmp_path / "template.docx"
    script["save_reproducibly"](script["build"](), fresh)
    committed = REPO / "word_templates" / "运维工作管理规范.docx"
    assert fresh.read_bytes() == committed.read_bytes(), "run: python word_templates/build_template.py"
