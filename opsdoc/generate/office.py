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
import fcntl
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
    folder = pdf.office_folder()
    # One office per user: held for its whole life, so a second one never takes the socket from it.
    lock = (folder / "office.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise OpsdocError(path, "已有 opsdoc office 在运行") from None
    path.unlink(missing_ok=True)  # left by one that was killed
    idle: queue.Queue[pdf.Helper | None] = queue.Queue()  # None: a slot whose helper could not be started
    started: list[pdf.Helper] = []
    for _ in range(workers):
        idle.put(_started(soffice, started))

    class Export(socketserver.StreamRequestHandler):
        timeout = 30  # a request line that does not come: the connection, not a thread, is given up

        def handle(self) -> None:
            gone = False

            def send(message: dict[str, Any]) -> None:
                nonlocal gone
                if gone:
                    return
                try:
                    self.wfile.write((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
                    self.wfile.flush()
                except OSError:  # the client went away: its export is still read to its end (below)
                    gone = True

            try:
                asked = json.loads(self.rfile.readline() or "{}")
            except (OSError, ValueError):
                return
            if not isinstance(asked, dict) or asked.pop("helper", None) != pdf.helper_version():
                send({"error": "other-opsdoc"})  # another opsdoc's (or LibreOffice's): it exports on its own
                return
            if asked.get("ping"):
                send({"pong": True})
                return
            try:
                helper = idle.get_nowait()
            except queue.Empty:
                send({"progress": "等待常驻的 LibreOffice…"})
                helper = idle.get()
            if helper is None or not helper.usable(soffice):
                helper = _started(soffice, started)
            if helper is None:  # LibreOffice will not start now: the client exports on its own
                send({"error": "office-died"})
                idle.put(None)
                return
            try:
                # the helper's every line is read, whoever still listens, so the next request starts in step
                outcome = helper.convert(asked, lambda said: send({"progress": said}), pdf.TIMEOUT_SECONDS)
                if not helper.usable(soffice):
                    outcome = {"error": "office-died"}  # its LibreOffice failed, not the document
                send(outcome or {"error": "office-died"})
            except BaseException:
                helper.kill()  # interrupted halfway: never handed to the next request out of step
                raise
            finally:
                idle.put(helper if helper.usable(soffice) else None)  # a dead one is replaced at the next request

    previous = os.umask(0o077)  # the socket: this user's only
    try:
        server = socketserver.ThreadingUnixStreamServer(str(path), Export)
    finally:
        os.umask(previous)
    inode = path.stat().st_ino
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C too
    try:
        ready(str(path))
        server.serve_forever()
    except KeyboardInterrupt:  # how it is stopped: not a failure
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave LibreOffices behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.server_close()
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:  # ours still: never another's
                path.unlink()
        for helper in started:
            helper.close()
        lock.close()


def _started(soffice: str, started: list[pdf.Helper]) -> pdf.Helper | None:
    """A new helper, kept for closing at the end; None when it cannot be started (retried at the next request)."""
    try:
        helper = pdf.Helper(soffice)
    except OSError:
        return None
    started.append(helper)
    return helper
