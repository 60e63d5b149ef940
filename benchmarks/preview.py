"""Print how fast the web page previews a workbook (PDF) with the server's warm LibreOffice; asserts nothing.

Run: python benchmarks/preview.py [--repeat N]

The alternative is what a manager does without the server: `opsdoc build --pdf` of the same
workbook, a fresh process (and so a fresh LibreOffice) each time. The page's figures run the real
application (Flask's test client) from the upload of the check to the PDF being ready: the first
preview starts the server's LibreOffice, the later ones find it warm.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
PASSWORD = "benchmark-password-1"


def _token(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1).decode()


def _preview(client, token: str) -> float:
    started = time.perf_counter()
    answer = client.post(f"/check/{token}/preview", data={"csrf_token": _token(client.get("/check").data)})
    job = answer.headers["Location"]
    while b'id="job-running"' in client.get(job).data:
        time.sleep(0.02)
    assert client.get(f"{job}/file").data.startswith(b"%PDF")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat

    from opsdoc.web.accounts import Accounts
    from opsdoc.web.app import Settings, create_app

    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        Accounts(root / "web").add("周建峰", "manager", PASSWORD)
        client = create_app(Settings(data=root / "web", archive=root / "归档")).test_client()
        login = {"name": "周建峰", "password": PASSWORD, "csrf_token": _token(client.get("/login").data)}
        client.post("/login", data=login)
        upload = {"csrf_token": _token(client.get("/check").data), "workbook": (SAMPLE.open("rb"), SAMPLE.name)}
        page = client.post("/check", data=upload, content_type="multipart/form-data").data.decode()
        token = re.search(r"/check/([\w-]{22})/preview", page)
        assert token is not None, "the sample should be previewable"
        first = _preview(client, token.group(1))
        warm = [_preview(client, token.group(1)) for _ in range(repeat)]
        cold = []
        for _ in range(repeat):
            started = time.perf_counter()
            build = [sys.executable, "-m", "opsdoc", "build", str(SAMPLE), "--pdf", "-o", str(root / "cli"), "--force"]
            subprocess.run(build, check=True, capture_output=True)
            cold.append(time.perf_counter() - started)
    print(f"preview of the sample in the page, first (LibreOffice starts): {first:.2f} s")
    print(
        f"preview in the page, LibreOffice warm: {statistics.median(warm):.2f} s (runs {min(warm):.2f}–{max(warm):.2f})"
    )
    print(
        f"opsdoc build --pdf, a fresh process each: {statistics.median(cold):.2f} s (runs {min(cold):.2f}–{max(cold):.2f})"
    )
    print(f"warm preview / fresh build: {statistics.median(warm) / statistics.median(cold):.2f}")


if __name__ == "__main__":
    main()
