"""The template work kept between runs (opsdoc.generate.cache): the same bytes, never a stale or damaged entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from docxtpl import DocxTemplate

import opsdoc.generate.cache
from opsdoc.api import build
from opsdoc.cli import main
from opsdoc.generate import sandbox
from opsdoc.generate.cache import Cache
from opsdoc.generate.prepared import prepared
from tests.support import SAMPLE, template_variant


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache of its own, and a process that has compiled nothing yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _new_process()
    yield tmp_path / "cache" / "opsdoc" / "templates"
    _new_process()  # nothing compiled under this cache stays in memory for other tests


def _new_process() -> None:
    """What a new process starts from: no template prepared or compiled in memory."""
    prepared.cache_clear()
    sandbox.jinja_environment.cache_clear()


def _refuse(*args, **kwargs):
    raise AssertionError("redone although an earlier run kept the result")


def test_a_later_run_renders_from_the_cache_without_compiling(cache, tmp_path, monkeypatch):
    first = build(SAMPLE, tmp_path / "a").output.read_bytes()
    assert list(cache.glob("*.code")) and list(cache.glob("*.prepared"))
    _new_process()
    monkeypatch.setattr(sandbox.BudgetedEnvironment, "compile", _refuse)
    monkeypatch.setattr(DocxTemplate, "patch_xml", _refuse)
    monkeypatch.setattr(docx, "Document", _refuse)
    assert build(SAMPLE, tmp_path / "b").output.read_bytes() == first


def test_a_later_run_loads_neither_docxtpl_nor_python_docx(cache, tmp_path):
    """What a user's second build of the day costs: the template prepared by the first (70 ms less)."""
    script = (
        "import sys; from opsdoc.api import build; from pathlib import Path; "
        f"build(Path({str(SAMPLE)!r}), Path(sys.argv[1])); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'docx', 'docxtpl'}))"
    )
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache.parent.parent)}
    loaded = [
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / run)], env=environment, capture_output=True, text=True
        ).stdout.strip()
        for run in ("first", "second")
    ]
    assert loaded == ["['docx', 'docxtpl']", "[]"]


def test_a_refused_template_is_refused_again_by_a_later_run(cache, tmp_path):
    template = template_variant(tmp_path, ("{{ doc.customer_confirmer }}", "{{ doc.title|safe }}"))
    for _ in range(2):
        result = CliRunner().invoke(
            main, ["build", str(SAMPLE), "-o", str(tmp_path / "out"), "--template", str(template)]
        )
        assert result.exit_code == 2 and "「|safe」" in result.output, result.output
        _new_process()


def test_an_entry_is_used_only_as_it_was_stored(cache):
    assert Cache("test", "v1").get(b"key", lambda: b"result") == b"result"
    assert Cache("test", "v1").get(b"key", _refuse) == b"result"
    (entry,) = cache.glob("*.test")
    entry.write_bytes(entry.read_bytes()[:-1] + b"X")  # a damaged entry: computed again, stored again
    assert Cache("test", "v1").get(b"key", lambda: b"again") == b"again"
    assert Cache("test", "v1").get(b"key", _refuse) == b"again"


def test_what_the_result_depends_on_is_part_of_the_key(cache, tmp_path):
    module = tmp_path / "module.py"
    module.write_text("one way")
    assert Cache("test", module, "1.0").get(b"key", lambda: b"old") == b"old"
    assert Cache("test", module, "2.0").get(b"key", lambda: b"new library") == b"new library"
    module.write_text("another way")
    assert Cache("test", module, "1.0").get(b"key", lambda: b"new code") == b"new code"


def test_without_a_usable_cache_the_work_is_done_each_time(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert Cache("test", "v1").get(b"key", lambda: b"result") == b"result"
    assert Cache("test", "v1").get(b"key", lambda: b"again") == b"again"


def test_the_oldest_entries_go_first(cache, monkeypatch):
    monkeypatch.setattr(opsdoc.generate.cache, "MAX_ENTRIES", 3)
    for n in range(5):
        before = set(cache.glob("*.test"))
        Cache("test", "v1").get(b"%d" % n, lambda n=n: b"%d" % n)
        (new,) = set(cache.glob("*.test")) - before
        os.utime(new, (n, n))  # distinct times: files written in one clock tick share theirs
    assert len(list(cache.glob("*.test"))) == 3
    assert [Cache("test", "v1").get(b"%d" % n, _refuse) for n in (2, 3, 4)] == [b"2", b"3", b"4"]
