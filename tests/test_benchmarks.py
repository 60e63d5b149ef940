"""The benchmarks measure what they say: their generated workbooks pass every rule, at the size asked.

A workbook a rule refuses would measure a refusal (or, as once happened, stop benchmarks/run.py
when a new rule arrived); one that is smaller than asked would flatter the figures.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from opsdoc.api import check
from tests.support import REPO


def test_generated_workbook_passes_every_rule_at_the_size_asked(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("benchmark_generate", REPO / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    workbook = tmp_path / "rows1000.xlsx"
    generate.generate(1000, workbook)

    checked = check(workbook)

    assert [f"{f.place} {f.code}" for f in checked.report.findings] == []
    document = checked.workbook.document
    assert document is not None
    registers = [len(document.catalog), len(document.plan), len(document.risks), len(document.revisions)]
    assert registers == [300, 300, 200, 20]  # the shares of generate.SHARES
