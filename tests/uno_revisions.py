"""Accept or reject every tracked change of .docx files in LibreOffice; run by /usr/bin/python3 (python3-uno).

    /usr/bin/python3 -I uno_revisions.py SOFFICE PROFILE_DIR IN.docx accept|reject|keep OUT.docx [IN action OUT …]

One LibreOffice serves every file. Exits non-zero, with the reason on stderr, when anything fails.
"""

import os
import sys
from pathlib import Path

import uno

# LibreOffice is started as opsdoc's PDF export starts it (the script runs isolated: -I leaves its folder off sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "opsdoc" / "generate"))
from uno_export import running_office
from uno_job import properties

# "keep" only re-saves: LibreOffice's own rewriting (a page break for pageBreakBefore) then shows on both sides.
COMMANDS = {"accept": ".uno:AcceptAllTrackedChanges", "reject": ".uno:RejectAllTrackedChanges", "keep": None}


def main(soffice, profile, *jobs):
    with running_office(soffice, profile, f"opsdoc-revisions-{os.getpid()}", seconds=120) as office:
        desktop, context = office.desktop, office.context
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


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
