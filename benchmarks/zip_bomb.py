"""Peak memory and time of `opsdoc check` on a zip bomb: a 1 GiB sheet packed into about 1 MB.

Run: python benchmarks/zip_bomb.py   (prints figures; asserts nothing)
"""

import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GIB = 2**30
CHUNK = 16 * 2**20


def make_bomb(path: Path) -> None:
    """A well-formed-looking .xlsx whose one sheet inflates to 1 GiB of zeros, written in chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            zeros = bytes(CHUNK)
            for _ in range(GIB // CHUNK):
                sheet.write(zeros)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bomb.xlsx"
        make_bomb(bomb)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "opsdoc", "check", str(bomb)], capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"bomb file: {bomb.stat().st_size / 2**20:.2f} MiB on disk, 1024 MiB inflated")
        print(f"opsdoc check: exit {result.returncode}, {elapsed:.2f} s, peak RSS {peak_kib / 1024:.1f} MiB")
        print(f"message: {result.stderr.strip()}")


if __name__ == "__main__":
    main()
