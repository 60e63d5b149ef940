"""Long work of the web page (an issue, a preview, a copy: LibreOffice lays the document out) run in the
background, so a page answers at once and shows what the work is doing until it is done.

A job belongs to the user who started it: only they see its progress and its result. Jobs run on a
small pool of threads; LibreOffice conversions take turns in the process anyway (opsdoc.generate.pdf),
so two 文控 issuing at once are served one after the other, each seeing where theirs is.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from opsdoc import api

KEPT = 200  # finished jobs kept for their owners to read; older ones are forgotten


@dataclass
class Job:
    id: str
    owner: str
    title: str
    lines: list[str] = field(default_factory=list)  # what the work said it is doing, in order
    done: bool = False
    result: dict[str, Any] | None = None  # what the page shows when done
    error: str | None = None  # the OpsdocError message it ended with

    def say(self, line: str) -> None:
        self.lines.append(line)


class Jobs:
    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opsdoc-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, title: str, work: Callable[[Job], dict[str, Any]]) -> Job:
        """Run `work(job)` in the background; it reports progress with job.say and returns the page's result."""
        job = Job(secrets.token_urlsafe(16), owner, title)
        job.say("已排队，等待开始…")
        with self._lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEPT]:
                if self._jobs[old].done:
                    del self._jobs[old]
        self._pool.submit(self._run, job, work)
        return job

    @staticmethod
    def _run(job: Job, work: Callable[[Job], dict[str, Any]]) -> None:
        try:
            job.result = work(job)
        except api.OpsdocError as exc:  # said to the user, as the CLI says it
            job.error = exc.message
        except Exception as exc:  # a fault of opsdoc: said in one line, never a lost job
            job.error = f"内部错误：{type(exc).__name__}: {exc}"
        finally:
            job.done = True

    def of(self, owner: str, job_id: str) -> Job | None:
        """The job, for its owner only."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None
