"""LibreOffice's side of the PDF export, run by the system python3 (which has python3-uno).

opsdoc never imports this module: the python that runs opsdoc cannot import uno. opsdoc.generate.pdf runs

    /usr/bin/python3 -I uno_export.py SOFFICE PROFILE_DIR

which starts LibreOffice headless with a private profile at once, then serves one request per
line on stdin, {"docx": …, "pdf": …, "options": {"archival": true, "keywords": [...]}}, for as
long as stdin stays open: one LibreOffice for a whole batch. For each document the job it loaded
into LibreOffice (uno_job.py) updates the indexes (the TOC gets its page numbers), reads the TOC
lines back and stores the PDF (PDF/A-2b with those keywords when archival is asked); this script
only starts LibreOffice, relays and reports. It reports on stdout, one JSON object per line:
{"progress": …} while working, then per request {"toc": [[style, text], …], "section_pages": M or null} or {"error": "failed",
"message": …} (the document failed, LibreOffice is still usable), {"error": "office-died", …}
(LibreOffice is gone: this script exits and opsdoc starts a new one) or {"error": "no-uno"}.
At the end of stdin LibreOffice is told to quit and waited for; opsdoc.generate.pdf kills the
whole process group as well, should this script hang or be killed.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

CONNECT_SECONDS = 60  # a first start with a fresh profile takes a few seconds
JOB = Path(__file__).with_name("uno_job.py")  # what runs inside LibreOffice
JOB_NAME = "org.opsdoc.LayOutAndExport"


class Refused(Exception):
    """A step the job inside LibreOffice could not do; its message is the job's."""


def say(**message: Any) -> None:
    print(json.dumps(message, ensure_ascii=False), flush=True)


def office_environment() -> dict[str, str]:
    """LibreOffice's environment: this one, its Python made this script's own (the system's, which has uno).

    The job runs in the Python that LibreOffice embeds, which finds its library from the first python3
    on PATH: one of pyenv, conda or a virtual environment there (as opsdoc's own often is) would give it
    a library it cannot run with. PYTHONHOME, PYTHONPATH and the like are this script's caller's too."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    environment["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), environment.get("PATH", "")])
    return environment


class Office(NamedTuple):
    process: subprocess.Popen[bytes]
    context: Any  # LibreOffice's component context, over the bridge
    desktop: Any


@contextlib.contextmanager
def running_office(soffice: str, profile: str, pipe: str, seconds: float = CONNECT_SECONDS) -> Iterator[Office]:
    """LibreOffice started headless with the private `profile`, connected through `pipe`.

    At the end it is told to quit, unless it is gone already, and waited for (killed after 15 s).
    The tests' and benchmarks' UNO scripts start their LibreOffice with it too."""
    import uno
    from com.sun.star.connection import NoConnectException

    process = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=office_environment(),
    )
    desktop = None
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + seconds
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("LibreOffice 未能启动") from None
                time.sleep(0.1)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        yield Office(process, context, desktop)
    finally:
        if desktop is not None and process.poll() is None:
            with contextlib.suppress(Exception):  # the bridge drops while LibreOffice quits, or is gone
                desktop.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(soffice: str, profile: str) -> int:
    try:
        import uno
        from com.sun.star.beans import NamedValue
    except ImportError:
        say(error="no-uno")
        return 3

    def ask(job: Any, **request: Any) -> dict[str, Any]:
        """One step of the job inside LibreOffice (uno_job.py); Refused with its message if it failed there."""
        argument = NamedValue()
        argument.Name, argument.Value = "request", json.dumps(request, ensure_ascii=False)
        answer: dict[str, Any] = json.loads(job.execute((argument,)))
        if "error" in answer:
            raise Refused(answer["error"])
        return answer

    def export(job: Any, docx: str, pdf: str, wanted: dict[str, Any]) -> tuple[list[list[str]], Any]:
        say(progress="正在打开文档…")
        ask(job, step="open", docx=docx)
        say(progress="正在更新目录…")
        laid = ask(job, step="lay out")
        say(progress="正在导出 PDF…")
        ask(job, step="export", pdf=pdf, options=wanted)  # the document stays open (see below)
        return laid["toc"], laid["section_pages"]

    def alive(office: Office) -> bool:
        try:
            office.desktop.getComponents()
        except Exception:  # a dead bridge raises DisposedException or RuntimeException
            return False
        return office.process.poll() is None

    def serve(office: Office, job: Any) -> int:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                toc, section_pages = export(job, request["docx"], request["pdf"], request.get("options", {}))
            except Refused as exc:  # the document failed; LibreOffice answered, so it lives on
                say(error="failed", message=str(exc))
                continue
            except Exception as exc:  # whatever LibreOffice raises, opsdoc turns it into one clear message
                message = f"{type(exc).__name__}: {exc}"
                if not alive(office):
                    say(error="office-died", message=message)
                    return 4
                say(error="failed", message=message)
                continue
            say(toc=toc, section_pages=section_pages)
            # Closed after the answer: LibreOffice closes the document while opsdoc finishes the PDF.
            try:
                ask(job, step="close")
            except Exception:
                if not alive(office):  # gone while closing: this script ends, so the next document is
                    return 4  # given a new LibreOffice instead of being blamed for this one's end
        return 0

    say(progress="正在启动 LibreOffice…")
    with contextlib.ExitStack() as stack:
        try:
            office = stack.enter_context(running_office(soffice, profile, f"opsdoc-{os.getpid()}"))
            # The job runs inside LibreOffice, loaded by its Python loader (python3-uno's).
            loader = office.context.ServiceManager.createInstanceWithContext(
                "com.sun.star.loader.Python", office.context
            )
            job = loader.activate(JOB_NAME, "", uno.systemPathToFileUrl(str(JOB)), None).createInstanceWithContext(
                office.context
            )
        except Exception as exc:  # LibreOffice did not start, or did not load the job
            say(error="failed", message=f"{type(exc).__name__}: {exc}")
            return 1
        return serve(office, job)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
