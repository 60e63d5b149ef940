"""Seconds and peak memory of `opsdoc verify` and `opsdoc diff` on a document with an N-row register.

Run: python benchmarks/qa_scale.py [ROWS]   (default 25000; prints figures, asserts nothing)
The document is built from benchmarks/generate.py's workbook; issue #16 asks ≤ 60 s and ≤ 500 MB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from generate import generate  # noqa: E402
from run import measure, opsdoc  # noqa: E402  # also points every measured process at this checkout


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 25_000
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        workbook = work / f"{rows}.xlsx"
        generate(rows, workbook)
        measure(opsdoc("build", str(workbook), "-o", str(work / "out")), ok=(0,))
        (document,) = (work / "out").glob("*.docx")
        print(f"{rows:,} rows ({document.stat().st_size / 2**20:.1f} MiB .docx)")
        for label, command in (
            ("verify DOC", opsdoc("verify", str(document))),
            ("verify DOC --workbook", opsdoc("verify", str(document), "--workbook", str(workbook))),
            ("diff DOC DOC", opsdoc("diff", str(document), str(document))),
        ):
            seconds, mib = measure(command)
            print(f"  {label:24s} {seconds:6.1f} s  {mib:6.0f} MiB peak")


if __name__ == "__main__":
    main()
