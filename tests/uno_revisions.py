"""Accept or reject every tracked change of .docx files in LibreOffice; run by /usr/bin/python3 (python3-uno).

    /usr/bin/python3 -I uno_revisions.py SOFFICE PROFILE_DIR IN.docx accept|reject|keep OUT.docx [IN action OUT …]

One LibreOffice serves every file. Exits non-zero, with the reason on stderr, when anything fails.
"""

import contextlib
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

# "keep" only re-saves: LibreOffice's own rewriting (a page break for pageBreakBefore) then shows on both sides.
COMMANDS = {"accept": ".uno:AcceptAllTrackedChanges", "reject": ".uno:RejectAllTrackedChanges", "keep": None}


def properties(**values):
    result = []
    for name, value in values.items():
        item = PropertyValue()
        item.Name, item.Value = name, value
        result.append(item)
    return tuple(result)


def main(soffice, profile, *jobs):
    pipe = f"opsdoc-revisions-{os.getpid()}"
    office = subprocess.Popen(
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
    )
    desktop = None
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 120
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if office.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("LibreOffice did not start") from None
                time.sleep(0.2)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        dispatcher = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", context)
        for i in range(0, len(jobs), 3):
            source, action, target = jobs[i : i + 3]
            document = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(source), "_blank", 0, properties(Hidden=True)
            )
            try:
                frame = document.getCurrentController().getFrame()
                if COMMANDS[action]:
                    dispatcher.executeDispatch(frame, COMMANDS[action], "", 0, ())
                left = document.getRedlines().createEnumeration().hasMoreElements()
                if left:
                    raise RuntimeError(f"{source}: tracked changes left after {action}")
                document.storeToURL(uno.systemPathToFileUrl(target), properties(FilterName="MS Word 2007 XML"))
            finally:
                document.close(True)
        return 0
    finally:
        if desktop is not None:
            with contextlib.suppress(Exception):  # the bridge drops while LibreOffice quits
                desktop.terminate()
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
