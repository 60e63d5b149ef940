"""LibreOffice's own document comparison, for the engine comparison in docs/versions.md.

    /usr/bin/python3 -I uno_compare.py SOFFICE PROFILE_DIR OLD.docx NEW.docx OUT.docx [OLD NEW OUT …]

Opens NEW, runs Edit ▸ Track Changes ▸ Compare Document against OLD (.uno:CompareDocuments),
stores the result and prints one JSON line per pair: seconds and the tracked changes by type.
"""

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import uno

# LibreOffice is started as opsdoc's PDF export starts it (the script runs isolated: -I leaves its folder off sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "opsdoc" / "generate"))
from uno_export import running_office
from uno_job import properties


def main(soffice, profile, *jobs):
    with running_office(soffice, profile, f"opsdoc-compare-{os.getpid()}", seconds=120) as office:
        desktop, context = office.desktop, office.context
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


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
