"""Print opsdoc's performance figures against what a user would do instead; asserts nothing.

Run: python benchmarks/run.py [--quick] [--repeat N] [--rows 1,2,3,4,5,6]

Each row of the table runs opsdoc and its alternative in the same run, one after the other,
so the ratio holds even though absolute times on shared machines vary two-fold:

1. sample, whole process: `opsdoc build` against a bare docxtpl script rendering the same
   `--dump-context` (bare_render.py);
2. 20k-row workbook, end to end: `opsdoc build` against bare docxtpl render + save of the same
   context; opsdoc's peak RSS too (target ≤ 400 MiB);
3. 30 workbooks with `--jobs 2` against a bare docxtpl loop over the 30 contexts in one process
   (bare_loop.py);
4. 8 workbooks with `--pdf --jobs 2` against LibreOffice's floor for them: two `soffice --convert-to pdf`
   at once (as many as opsdoc's workers), each converting 4 of the built .docx (which leaves their TOC
   without page numbers) with opsdoc's font aliases, so that it lays out and embeds the fonts opsdoc's
   PDF has (without them every Chinese character falls back to one sans-serif face, a cheaper and
   different PDF); both with a LibreOffice profile made by an untimed first run, as a user's
   day-to-day runs have (target ≤ 1.1);
5. the 对比稿 of two versions whose 1,500 paragraphs were all rewritten: `opsdoc redline` against
   `opsdoc diff` of the same pair (target: ≤ 5 s, and within 3× of diff);
6. `opsdoc import` of the 20k-row workbook's document against `opsdoc verify` of it (target ≤ 2×, and its
   peak RSS within 2× of verify's);
7. the 对比稿 of two versions of a 20k-row document (one 服务目录 row in 50 edited): `opsdoc redline` against
   `opsdoc diff` of the pair (target ≤ 3×), its peak RSS (≤ 500 MiB), and the exponent of its time from
   2,000 to 20,000 rows (≤ 1.1).

--quick uses 5k rows, 10 and 4 workbooks. Medians of --repeat runs (default 3; 7 for row 1).
Both sides run from compiled bytecode, as installed software does (see PYTHONDONTWRITEBYTECODE below).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
sys.path[:0] = [str(HERE), str(HERE.parent)]
# This checkout's opsdoc, here and in every opsdoc process measured, whatever is installed.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
# The measured processes run from bytecode, as an installed opsdoc does (pip compiles it at install;
# site-packages, where docxtpl lives, have theirs): under PYTHONDONTWRITEBYTECODE=1 a checkout
# compiles its own 10k lines at every start (≈ 80 ms of the sample's 0.8 s), which no user's
# opsdoc does. Each row's untimed first opsdoc run writes the checkout's __pycache__ (git ignores it).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
from generate import generate  # noqa: E402

MEASURE = (  # runs a command and prints its exit code, wall time and the peak RSS of its largest process
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
    "print(code, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def measure(command: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB (largest single process) of one run of `command`."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True).stdout
    code, seconds, kib = out.split()
    if int(code) not in ok:
        raise SystemExit(f"failed ({code}): {' '.join(command)}")
    return float(seconds), int(kib) / 1024


def opsdoc(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "opsdoc", *arguments]


def template() -> str:
    from opsdoc.generate.render import default_template

    return str(default_template())


def dump_context(workbook: Path, work: Path) -> Path:
    context = work / f"{workbook.stem}.json"
    subprocess.run(
        opsdoc("build", str(workbook), "-o", str(work / "dump"), "--force", "--dump-context", str(context)),
        check=True,
        capture_output=True,
    )
    return context


def row(label: str, ours: list[float], theirs: list[float], alternative: str, target: float, extra: str = "") -> float:
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    ratio = statistics.median(ours) / statistics.median(theirs)
    verdict = "met" if ratio <= target else "MISSED"
    print(
        f"{label}: opsdoc {statistics.median(ours):.2f} s, {alternative} {statistics.median(theirs):.2f} s, "
        f"ratio {ratio:.2f} (runs {min(ratios):.2f}–{max(ratios):.2f}; target ≤ {target}: {verdict}){extra}",
        flush=True,
    )
    return ratio


def sample(work: Path, repeat: int) -> None:
    context = dump_context(SAMPLE, work)
    ours, bare = [], []
    for i in range(repeat):  # interleaved, so a busy moment on the machine hits both sides
        ours.append(measure(opsdoc("build", str(SAMPLE), "-o", str(work / f"o{i}")))[0])
        bare.append(
            measure([sys.executable, str(HERE / "bare_render.py"), str(context), template(), str(work / "b.docx")])[0]
        )
    row("1. sample, whole process", ours, bare, "bare docxtpl", 1.1)


def large(work: Path, rows: int, repeat: int) -> None:
    workbook = work / f"rows{rows}.xlsx"
    generate(rows, workbook)
    context = dump_context(workbook, work)
    ours, bare, peaks = [], [], []
    for i in range(repeat):
        seconds, mib = measure(opsdoc("build", str(workbook), "-o", str(work / f"l{i}")))
        ours.append(seconds)
        peaks.append(mib)
        bare.append(
            measure([sys.executable, str(HERE / "bare_render.py"), str(context), template(), str(work / "b.docx")])[0]
        )
    row(
        f"2. {rows}-row workbook, end to end",
        ours,
        bare,
        "bare docxtpl render + save",
        0.25,
        f"; opsdoc peak RSS {max(peaks):.0f} MiB (target ≤ 400)",
    )


def copies(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    book = openpyxl.load_workbook(SAMPLE)
    paths = []
    for i in range(count):
        book["文档信息"]["B3"] = f"QT-YW-GF-BH{i:02d}-001"
        paths.append(folder / f"项目{i:02d}.xlsx")
        book.save(paths[-1])
    return paths


def batch(work: Path, count: int, repeat: int) -> None:
    folder = work / "batch"
    contexts = [dump_context(path, work) for path in copies(folder, count)]
    ours, bare = [], []
    for i in range(repeat):
        ours.append(measure(opsdoc("build", str(folder), "-o", str(work / f"batch{i}"), "--jobs", "2"))[0])
        out = work / f"bare{i}"
        out.mkdir()
        bare.append(measure([sys.executable, str(HERE / "bare_loop.py"), template(), str(out), *map(str, contexts)])[0])
    row(f"3. {count} workbooks, --jobs 2", ours, bare, f"bare docxtpl loop over {count} contexts", 0.25)


def pdf_batch(work: Path, count: int, repeat: int) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("4. skipped: LibreOffice is not installed")
        return
    folder = work / "pdfbatch"
    copies(folder, count)
    built = work / "pdfdocx"
    subprocess.run(opsdoc("build", str(folder), "-o", str(built), "--jobs", "2"), check=True, capture_output=True)
    documents = sorted(map(str, built.glob("*.docx")))
    # Both sides as a user runs them day to day: with a LibreOffice profile made by an earlier
    # run (a user's own for soffice; opsdoc's cached ones), so one untimed run of each first.
    # LibreOffice's floor for the batch: as many soffice processes as opsdoc has workers, each
    # converting its share (one start each, and the documents' own layout and export, no more).
    profiles = [Path(tempfile.mkdtemp(prefix="opsdoc-bench-profile-", dir=work)) for _ in range(2)]
    shares = [documents[k::2] for k in range(2)]

    from opsdoc.generate.pdf import FONTS, for_layout

    # What LibreOffice is handed by opsdoc (the .docx without the table styles no table uses): LibreOffice
    # converting these is a lower floor than converting the documents as written, printed beside it.
    slim = work / "pdfslim"
    slim.mkdir()
    for document in map(Path, documents):
        (slim / document.name).write_bytes(for_layout(document.read_bytes()))
    slim_shares = [sorted(map(str, slim.glob("*.docx")))[k::2] for k in range(2)]

    aliased = {**os.environ, "FONTCONFIG_FILE": str(FONTS)}

    def floor(out: Path, shares: list[list[str]]) -> float:
        started = time.perf_counter()
        running = [
            subprocess.Popen(
                [
                    soffice,
                    f"-env:UserInstallation={profile.as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(out),
                    *share,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=aliased,
            )
            for profile, share in zip(profiles, shares, strict=True)
        ]
        if any(process.wait() for process in running):
            raise SystemExit("soffice failed")
        return time.perf_counter() - started

    floor(work / "soffice-warm-up", shares)
    measure(opsdoc("build", str(folder), "-o", str(work / "pdf-warm-up"), "--pdf", "--jobs", "2"))
    ours, theirs = [], []
    for i in range(repeat):
        ours.append(measure(opsdoc("build", str(folder), "-o", str(work / f"pdf{i}"), "--pdf", "--jobs", "2"))[0])
        theirs.append(floor(work / f"soffice{i}", shares))
    row(
        f"4. {count} workbooks with --pdf, --jobs 2",
        ours,
        theirs,
        f"LibreOffice's floor: two soffice --convert-to pdf at once, {count // 2} .docx each, the same fonts",
        1.1,
    )
    # The same with `opsdoc office` keeping two LibreOffices warm (in a cache of its own, so a user's
    # own office is not measured): what the starts cost is paid once, when it starts.
    os.environ["XDG_CACHE_HOME"] = str(work / "office-cache")
    office = subprocess.Popen(opsdoc("office", "--workers", "2"), stderr=subprocess.PIPE, text=True)
    try:
        assert office.stderr is not None and "已就绪" in office.stderr.readline()
        measure(opsdoc("build", str(folder), "-o", str(work / "office-warm-up"), "--pdf", "--jobs", "2"))
        warm, theirs, slimmed = [], [], []
        for i in range(repeat):
            warm.append(
                measure(opsdoc("build", str(folder), "-o", str(work / f"office{i}"), "--pdf", "--jobs", "2"))[0]
            )
            theirs.append(floor(work / f"soffice-office{i}", shares))
            slimmed.append(floor(work / f"soffice-slim{i}", slim_shares))
    finally:
        office.terminate()
        office.wait()
        del os.environ["XDG_CACHE_HOME"]
    row(
        "4w. the same with `opsdoc office --workers 2` running",
        warm,
        theirs,
        "LibreOffice's floor",
        1.1,
        f"; LibreOffice given the copies opsdoc lays out: {statistics.median(slimmed):.2f} s,"
        f" opsdoc {statistics.median(warm) / statistics.median(slimmed):.2f} of it",
    )


def rewritten(work: Path, paragraphs: int, repeat: int) -> None:
    """Two versions of the sample whose chapter-3 补充说明 holds `paragraphs` paragraphs, every one rewritten."""
    import random

    words = [
        "服务",
        "系统",
        "运维",
        "巡检",
        "数据库",
        "网络",
        "安全",
        "备份",
        "恢复",
        "监控",
        "故障",
        "响应",
        "升级",
        "补丁",
        "日志",
        "报告",
        "客户",
        "科室",
        "设备",
        "存储",
    ]
    built = []
    for seed in (1, 2):
        draw = random.Random(seed)
        book = openpyxl.load_workbook(SAMPLE)
        lines = ["".join(draw.choice(words) for _ in range(60)) + f"（第{i}条）。" for i in range(paragraphs)]
        book["补充说明"].append([3, "\n".join(lines)])
        book.save(work / f"rewritten{seed}.xlsx")
        subprocess.run(
            opsdoc("build", str(work / f"rewritten{seed}.xlsx"), "-o", str(work / f"r{seed}")),
            check=True,
            capture_output=True,
        )
        built.append(str(next((work / f"r{seed}").glob("*.docx"))))
    ours, diffs = [], []
    for _ in range(repeat):
        ours.append(measure(opsdoc("redline", *built, "-o", str(work / "对比稿.docx"), "--force"))[0])
        diffs.append(measure(opsdoc("diff", *built))[0])
    row(
        f"5. 对比稿, {paragraphs} rewritten paragraphs",
        ours,
        diffs,
        "diff of the same pair",
        3.0,
        f"; {statistics.median(ours):.2f} s against a target of ≤ 5 s",
    )


def imported(work: Path, rows: int, repeat: int) -> None:
    workbook = work / f"import{rows}.xlsx"
    generate(rows, workbook)
    subprocess.run(opsdoc("build", str(workbook), "-o", str(work / "import")), check=True, capture_output=True)
    document = str(next((work / "import").glob("*.docx")))
    ours, verifies, peaks = [], [], []
    for _ in range(repeat):
        seconds, peak = measure(opsdoc("import", document, "-o", str(work / "imported.xlsx"), "--force"), ok=(0, 1))
        ours.append(seconds)
        seconds, verify_peak = measure(opsdoc("verify", document), ok=(0, 1))
        verifies.append(seconds)
        peaks.append(peak / verify_peak)
    row(
        f"6. import of a {rows}-row document",
        ours,
        verifies,
        "verify of it",
        2.0,
        f"; peak RSS {statistics.median(peaks):.2f}× verify's (target ≤ 2)",
    )


def tables(work: Path, sizes: tuple[int, int], repeat: int) -> None:
    """The 对比稿 of two versions of a document with long registers (one 服务目录 row in 50 edited): redline
    against diff of the same pair, its peak RSS, and how its time grows from the smaller size to the larger."""
    import math

    seconds: dict[int, float] = {}
    for rows in sizes:
        old = work / f"tables{rows}a.xlsx"
        generate(rows, old)
        book = openpyxl.load_workbook(old)
        catalogue = book["服务目录"]
        for number in range(2, catalogue.max_row + 1, 50):
            catalogue.cell(number, 4).value = f"{catalogue.cell(number, 4).value}，并于每季度复核"
        book.save(work / f"tables{rows}b.xlsx")
        built = []
        for side in "ab":
            out = work / f"t{rows}{side}"
            subprocess.run(
                opsdoc("build", str(work / f"tables{rows}{side}.xlsx"), "-o", str(out)), check=True, capture_output=True
            )
            built.append(str(next(out.glob("*.docx"))))
        ours, diffs, peaks, diff_peaks = [], [], [], []
        for _ in range(repeat):
            took, peak = measure(opsdoc("redline", *built, "-o", str(work / "对比稿.docx"), "--force"))
            ours.append(took)
            peaks.append(peak)
            took, peak = measure(opsdoc("diff", *built), ok=(0, 1))
            diffs.append(took)
            diff_peaks.append(peak)
        seconds[rows] = statistics.median(ours)
        if rows == sizes[-1]:
            small, large = sizes
            exponent = math.log(seconds[large] / seconds[small]) / math.log(large / small)
            row(
                f"7. 对比稿 of two {rows}-row documents",
                ours,
                diffs,
                "diff of the same pair",
                3.0,
                f"; peak RSS {statistics.median(peaks):.0f} MiB (target ≤ 500; diff {statistics.median(diff_peaks):.0f}),"
                f" time ×{seconds[large] / seconds[small]:.1f} from {small} rows: exponent {exponent:.2f} (target ≤ 1.1)",
            )


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    rows = (
        {int(n) for n in sys.argv[sys.argv.index("--rows") + 1].split(",")}
        if "--rows" in sys.argv
        else {1, 2, 3, 4, 5, 6, 7}
    )
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; load average {load:.1f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="opsdoc-bench-") as folder:
        work = Path(folder)
        if 1 in rows:
            sample(work, max(repeat, 7))
        if 2 in rows:
            large(work, 5000 if quick else 20000, repeat)
        if 3 in rows:
            batch(work, 10 if quick else 30, repeat)
        if 4 in rows:
            pdf_batch(work, 4 if quick else 8, repeat)
        if 5 in rows:
            rewritten(work, 500 if quick else 1500, repeat)
        if 6 in rows:
            imported(work, 5000 if quick else 20000, repeat)
        if 7 in rows:
            tables(work, (500, 5000) if quick else (2000, 20000), repeat)


if __name__ == "__main__":
    main()
