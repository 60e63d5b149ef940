"""A LibreOffice kept warm between commands: `opsdoc office` holds one helper (uno_export.py and its
LibreOffice, as opsdoc.generate.pdf starts them) per worker, and serves their exports over a Unix socket
in the user's cache folder, readable by that user only. Every PDF export of every opsdoc command of that
user (build --pdf, issue, a copy handed out, the web page) sends its request there when something
answers, and starts its own LibreOffice as before when nothing does: the seconds a start costs are paid
once, when `opsdoc office` starts. The helper is the same, so the PDF is the same, byte for byte.

One request per connection: a JSON line, the same the helper reads; the answer is the helper's own
lines, {"progress": …} while it works, then its outcome. The client side is opsdoc.generate.pdf's.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socketserver
from collections.abc import Callable
from typing import Any

from opsdoc.errors import OpsdocError
from opsdoc.generate import pdf


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(workers: int, ready: Callable[[str], None]) -> None:
    """Keep `workers` helpers warm and serve exports until Ctrl-C or SIGTERM; `ready` is told once they listen.
    Then every helper quits its LibreOffice and the socket is removed."""
    soffice = pdf.requirements()
    path = pdf.office_address()
    path.parent.mkdir(parents=True, exist_ok=True)
    if pdf.office_answers():
        raise OpsdocError(path, "已有 opsdoc office 在运行")
    path.unlink(missing_ok=True)  # left by one that was killed
    idle: queue.Queue[pdf.Helper] = queue.Queue()
    started = [pdf.Helper(soffice) for _ in range(workers)]
    for helper in started:
        idle.put(helper)

    class Export(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            def send(message: dict[str, Any]) -> None:
                self.wfile.write((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
                self.wfile.flush()

            asked = json.loads(self.rfile.readline() or "{}")
            if asked.pop("helper", None) != pdf.helper_version():  # another opsdoc's: its own LibreOffice is used
                send({"error": "other-opsdoc"})
                return
            if asked.get("ping"):
                send({"pong": True})
                return
            helper = idle.get()
            try:
                outcome = helper.convert(asked, lambda said: send({"progress": said}), pdf.TIMEOUT_SECONDS)
                send(outcome or {"error": "office-died"})
            finally:
                if not helper.usable(soffice):  # it died or was killed: a fresh one for the next request
                    helper.close()
                    helper = pdf.Helper(soffice)
                    started.append(helper)
                idle.put(helper)

    previous = os.umask(0o077)  # the socket: this user's only
    try:
        server = socketserver.ThreadingUnixStreamServer(str(path), Export)
    finally:
        os.umask(previous)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C too
    try:
        ready(str(path))
        server.serve_forever()
    except KeyboardInterrupt:  # how it is stopped: not a failure
        pass
    finally:
        server.server_close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        for helper in started:
            helper.close()
