"""Long work of the web page (an issue, a preview, a copy: LibreOffice lays the document out) run in the
background, so a page answers at once and shows what the work is doing until it is done.

A job belongs to the user who started it: only they see its progress and its result. Jobs run on a
small pool of threads; LibreOffice conversions take turns in the process anyway (opsdoc.generate.pdf),
so two 文控 issuing at once are served one after the other, each seeing where theirs is.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from opsdoc import api

KEPT_SECONDS = 3600  # a finished job (its page, its file) is kept this long for its owner
WAITING = 20  # jobs waiting at most, all users together: beyond, a new one is refused (busy)


@dataclass
class Job:
    id: str
    owner: str
    title: str
    lines: list[str] = field(default_factory=list)  # what the work said it is doing, in order
    done: bool = False
    result: dict[str, Any] | None = None  # what the page shows when done
    error: str | None = None  # the OpsdocError message it ended with
    finished: float = 0.0  # time.monotonic() when done

    def say(self, line: str) -> None:
        self.lines.append(line)


class Jobs:
    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opsdoc-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(
        self, owner: str, title: str, work: Callable[[Job], dict[str, Any]], failed: Callable[[str], None]
    ) -> Job | None:
        """Run `work(job)` in the background; it reports progress with job.say and returns the page's result.
        `failed` is told the message a failure ends with (the audit log). None when too many jobs wait."""
        job = Job(secrets.token_urlsafe(16), owner, title)
        job.say("已排队，等待开始…")
        now = time.monotonic()
        with self._lock:
            for old in [k for k, j in self._jobs.items() if j.done and now - j.finished > KEPT_SECONDS]:
                del self._jobs[old]
            if sum(not j.done for j in self._jobs.values()) >= WAITING:
                return None
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work, failed)
        return job

    @staticmethod
    def _run(job: Job, work: Callable[[Job], dict[str, Any]], failed: Callable[[str], None]) -> None:
        try:
            job.result = work(job)
        except api.OpsdocError as exc:  # said to the user, as the CLI says it
            job.error = exc.message
        except Exception as exc:  # a fault of opsdoc: said in one line, never a lost job
            job.error = f"内部错误：{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.monotonic()
            job.done = True
        if job.error is not None:
            failed(job.error)

    def running(self, owner: str) -> Job | None:
        """The owner's job not yet done: one at a time per user."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.owner == owner and not j.done), None)

    def of(self, owner: str, job_id: str) -> Job | None:
        """The job, for its owner only."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None
