"""Print opsdoc's performance figures; asserts nothing. Run: python benchmarks/run.py [--quick]

1. stage timings on the sample (read, validate, rules, context, render, save);
2. whole-process `opsdoc build` on the sample against a bare docxtpl render of the same
   template and context (median of 7 runs each, and their ratio);
3. end-to-end time and peak memory at 2k, 5k and 20k rows, the scaling exponent, and the
   time QA's `verify --workbook` takes on each document;
4. batch: 50 sample-sized workbooks with --jobs 1 and --jobs 2, documents per second.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

MEASURE = (  # runs a command and prints its wall time and the peak RSS of its process tree
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(code, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one run of `command`, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True).stdout
    code, seconds, kib = out.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(command)}")
    return float(seconds), int(kib) / 1024


def opsdoc(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "opsdoc", *arguments]


def stages() -> None:
    from opsdoc.contract.conventions import Conventions
    from opsdoc.generate.context import build_context
    from opsdoc.generate.render import default_template, render_template, save_document
    from opsdoc.workbook.reader import WorkbookReader
    from opsdoc.workbook.rules import run_rules

    timings: dict[str, list[float]] = {}
    for _ in range(7):
        clock = time.perf_counter()
        reader = WorkbookReader(SAMPLE)
        data = reader.read_sheets()
        marks = [("read", time.perf_counter())]
        workbook = reader.validate(data)
        marks.append(("validate", time.perf_counter()))
        run_rules(workbook, Conventions())
        marks.append(("rules", time.perf_counter()))
        context = build_context(workbook.document)
        marks.append(("context", time.perf_counter()))
        docx = render_template(default_template(), context)
        marks.append(("render", time.perf_counter()))
        save_document(docx, workbook.document, context)
        marks.append(("save", time.perf_counter()))
        for name, at in marks:
            timings.setdefault(name, []).append(at - clock)
            clock = at
    print("1. stages on the sample, in one process (median of 7; the first run compiles the template):")
    print("   " + "  ".join(f"{name} {statistics.median(values) * 1000:.0f} ms" for name, values in timings.items()))


def against_bare(work: Path) -> None:
    from opsdoc.generate.render import default_template

    context = work / "context.json"
    subprocess.run(
        opsdoc("build", str(SAMPLE), "-o", str(work / "d"), "--dump-context", str(context)),
        check=True,
        capture_output=True,
    )
    ours = [measure(opsdoc("build", str(SAMPLE), "-o", str(work / f"o{i}")))[0] for i in range(7)]
    bare = [
        measure(
            [
                sys.executable,
                str(HERE / "bare_render.py"),
                str(context),
                str(default_template()),
                str(work / f"b{i}.docx"),
            ]
        )[0]
        for i in range(7)
    ]
    ratio = statistics.median(ours) / statistics.median(bare)
    print(
        f"2. sample, whole process: opsdoc build {statistics.median(ours):.2f} s, bare docxtpl {statistics.median(bare):.2f} s, "
        f"ratio {ratio:.2f} (target ≤ 1.3)"
    )


def scaling(work: Path, sizes: list[int]) -> None:
    print("3. end to end (opsdoc build, one process each):")
    results = {}
    for rows in sizes:
        workbook = work / f"rows{rows}.xlsx"
        generate(rows, workbook)
        seconds, mib = measure(opsdoc("build", str(workbook), "-o", str(work / f"s{rows}"), "--force"))
        results[rows] = seconds
        (built,) = (work / f"s{rows}").glob("*.docx")
        checked, _ = measure(opsdoc("verify", str(built), "--workbook", str(workbook)))
        print(f"   {rows:>6} rows: build {seconds:.2f} s, peak RSS {mib:.0f} MiB; verify --workbook {checked:.2f} s")
    low, high = min(results), max(results)
    exponent = math.log(results[high] / results[low]) / math.log(high / low)
    print(f"   scaling exponent {low}→{high}: {exponent:.2f} (target ≤ 1.1; 20k target ≤ 5 s, ≤ 400 MiB)")


def batch(work: Path, count: int) -> None:
    folder = work / "batch"
    folder.mkdir()
    book = openpyxl.load_workbook(SAMPLE)
    for i in range(count):
        book["文档信息"]["B3"] = f"QT-YW-GF-BH{i:02d}-001"
        book.save(folder / f"项目{i:02d}.xlsx")
    print(f"4. batch of {count} sample-sized workbooks:")
    for jobs in (1, 2):
        seconds, _ = measure(opsdoc("build", str(folder), "-o", str(work / f"batch{jobs}"), "--jobs", str(jobs)))
        print(f"   --jobs {jobs}: {seconds:.2f} s, {count / seconds:.1f} documents/s (target ≥ 15 with --jobs 2)")


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory(prefix="opsdoc-bench-") as folder:
        work = Path(folder)
        stages()
        against_bare(work)
        scaling(work, [2000, 5000] if quick else [2000, 5000, 20000])
        batch(work, 10 if quick else 50)


if __name__ == "__main__":
    main()
