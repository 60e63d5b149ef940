"""LibreOffice's own document comparison, for the engine comparison in docs/versions.md.

    /usr/bin/python3 -I uno_compare.py SOFFICE PROFILE_DIR OLD.docx NEW.docx OUT.docx [OLD NEW OUT …]

Opens NEW, runs Edit ▸ Track Changes ▸ Compare Document against OLD (.uno:CompareDocuments),
stores the result and prints one JSON line per pair: seconds and the tracked changes by type.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def properties(**values):
    result = []
    for name, value in values.items():
        item = PropertyValue()
        item.Name, item.Value = name, value
        result.append(item)
    return tuple(result)


def main(soffice, profile, *jobs):
    pipe = f"opsdoc-compare-{os.getpid()}"
    office = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            "--headless",
            "--invisible",
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
            old, new, target = jobs[i : i + 3]
            document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(new), "_blank", 0, properties(Hidden=True))
            try:
                started = time.perf_counter()
                frame = document.getCurrentController().getFrame()
                dispatcher.executeDispatch(
                    frame,
                    ".uno:CompareDocuments",
                    "",
                    0,
                    properties(URL=uno.systemPathToFileUrl(old), NoAcceptDialog=True),
                )
                seconds = time.perf_counter() - started
                kinds = Counter()
                changes = document.getRedlines().createEnumeration()
                while changes.hasMoreElements():
                    kinds[changes.nextElement().getPropertyValue("RedlineType")] += 1
                document.storeToURL(uno.systemPathToFileUrl(target), properties(FilterName="MS Word 2007 XML"))
                print(
                    json.dumps({"pair": [old, new], "seconds": round(seconds, 2), "changes": kinds}, ensure_ascii=False)
                )
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
