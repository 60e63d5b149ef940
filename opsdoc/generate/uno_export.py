"""LibreOffice's side of the PDF export, run by the system python3 (which has python3-uno).

opsdoc never imports this module: the python that runs opsdoc cannot import uno. opsdoc.generate.pdf runs

    /usr/bin/python3 -I uno_export.py SOFFICE PROFILE_DIR

which starts LibreOffice headless with a private profile at once, then serves one request per
line on stdin, {"docx": …, "pdf": …, "options": {"archival": true, "keywords": [...]}}, for as
long as stdin stays open: one LibreOffice for a whole batch. For each document it updates the
indexes (the TOC gets its page numbers), reads the TOC lines back and stores the PDF (PDF/A-2b
with those keywords when archival is asked). It reports on stdout, one JSON object per line:
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
from typing import Any

CONNECT_SECONDS = 60  # a first start with a fresh profile takes a few seconds
FIELD_CODE = "vnd.oasis.opendocument.field.code"  # where LibreOffice keeps a Word field's instruction


def say(**message: Any) -> None:
    print(json.dumps(message, ensure_ascii=False), flush=True)


def main(soffice: str, profile: str) -> int:
    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException
        from com.sun.star.container import NoSuchElementException
    except ImportError:
        say(error="no-uno")
        return 3

    def properties(**values: Any) -> tuple[Any, ...]:
        result = []
        for name, value in values.items():
            item = PropertyValue()
            item.Name, item.Value = name, value
            result.append(item)
        return tuple(result)

    def export(desktop: Any, docx: str, pdf: str, wanted: dict[str, Any]) -> tuple[list[list[str]], Any]:
        say(progress="正在打开文档…")
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(docx), "_blank", 0, properties(Hidden=True))
        if document is None:
            raise RuntimeError("LibreOffice 无法打开该文档")
        try:
            say(progress="正在更新目录…")
            indexes = [
                document.getDocumentIndexes().getByIndex(i) for i in range(document.getDocumentIndexes().getCount())
            ]
            # Twice: filling the TOC can move the chapters to later pages; the second pass counts them there.
            # The body's page count does not move with the TOC: written between the passes, its new text is
            # laid out by the second pass instead of by a layout of its own (80 ms a document).
            for index in indexes:
                index.update()
            section_pages = fill_section_pages(document)
            for index in indexes:
                index.update()
            toc = []
            for index in indexes:
                if index.supportsService("com.sun.star.text.ContentIndex"):
                    toc = read_toc(index.getAnchor())
                    break
            say(progress="正在导出 PDF…")
            settings = {"FilterName": "writer_pdf_Export"}
            if wanted.get("archival"):
                document.getDocumentProperties().Keywords = tuple(wanted.get("keywords", ()))
                # SelectPdfVersion 2 is PDF/A-2b: fonts embedded, XMP metadata, no transparency groups lost.
                filter_data = properties(SelectPdfVersion=2)
                settings["FilterData"] = uno.Any("[]com.sun.star.beans.PropertyValue", filter_data)
            # uno.invoke keeps the typed Any: a plain tuple would arrive as sequence<any> and be ignored.
            uno.invoke(document, "storeToURL", (uno.systemPathToFileUrl(pdf), properties(**settings)))
        finally:
            with contextlib.suppress(Exception):  # LibreOffice may be gone; the caller finds out
                document.close(True)
        return toc, section_pages

    def fill_section_pages(document: Any) -> Any:
        """共 M 页: LibreOffice keeps Word's SECTIONPAGES field as the text stored in it. Count the
        pages from the first chapter heading on (the section the footer numbers) and write the count
        there; None for a document without the field."""
        marks = []
        fields = document.getTextFields().createEnumeration()
        while fields.hasMoreElements():
            field = fields.nextElement()
            if field.supportsService("com.sun.star.text.Fieldmark"):
                parameters = field.getParameters()
                code = parameters.getByName(FIELD_CODE).split() if parameters.hasByName(FIELD_CODE) else []
                if code[:1] == ["SECTIONPAGES"]:  # Word writes switches after it: SECTIONPAGES \* MERGEFORMAT
                    marks.append(field)
        if not marks:
            return None
        controller = document.getCurrentController()
        cursor = controller.getViewCursor()
        start = 1
        search = document.createSearchDescriptor()  # one call, not one per paragraph over the bridge
        search.SearchStyles = True
        search.SearchString = "Heading 1"
        heading = document.findFirst(search)
        if heading is not None:
            cursor.gotoRange(heading.getStart(), False)
            start = cursor.getPage()
        count = controller.getPropertyValue("PageCount") - start + 1
        for mark in marks:
            put_result(mark, str(count))
        return count

    def put_result(mark: Any, value: str) -> None:
        """The text between a fieldmark's separator and its end becomes `value` (its markers stay)."""
        paragraphs = mark.getAnchor().getText().createEnumeration()
        while paragraphs.hasMoreElements():
            portions = paragraphs.nextElement().createEnumeration()
            inside = False
            while portions.hasMoreElements():
                portion = portions.nextElement()
                kind = portion.TextPortionType
                if kind == "TextFieldStart" and portion.Bookmark.getName() == mark.getName():
                    inside = True
                elif kind == "TextFieldEnd":
                    inside = False
                elif inside and kind == "Text":
                    portion.setString(value)
                    value = ""  # any further pieces of the old result are emptied

    def read_toc(anchor: Any) -> list[list[str]]:
        """Each TOC line's paragraph style and text. Every call over the bridge costs a round trip (a
        quarter of a millisecond or more): the lines' text comes in one, only the styles one paragraph at
        a time. LibreOffice writes a heading's line break as a space in its entry, so the text splits
        into the paragraphs; should an entry ever hold one, every paragraph is read whole instead."""
        texts = anchor.getString().split("\n")
        paragraphs = anchor.createEnumeration()
        styles = []
        with contextlib.suppress(NoSuchElementException):
            for _text in texts:
                styles.append(paragraphs.nextElement().ParaStyleName)
        if len(styles) == len(texts) and not paragraphs.hasMoreElements():
            return [[style, text] for style, text in zip(styles, texts, strict=True)]
        lines, paragraphs = [], anchor.createEnumeration()
        while paragraphs.hasMoreElements():
            line = paragraphs.nextElement()
            lines.append([line.ParaStyleName, line.getString()])
        return lines

    def alive(desktop: Any) -> bool:
        try:
            desktop.getComponents()
        except Exception:  # a dead bridge raises DisposedException or RuntimeException
            return False
        return office.poll() is None

    pipe = f"opsdoc-{os.getpid()}"
    say(progress="正在启动 LibreOffice…")
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
        try:
            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
            deadline = time.monotonic() + CONNECT_SECONDS
            while True:
                try:
                    context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                    break
                except NoConnectException:
                    if office.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("LibreOffice 未能启动") from None
                    time.sleep(0.1)
            desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        except Exception as exc:
            say(error="failed", message=f"{type(exc).__name__}: {exc}")
            return 1
        for line in sys.stdin:
            request = json.loads(line)
            try:
                toc, section_pages = export(desktop, request["docx"], request["pdf"], request.get("options", {}))
            except Exception as exc:  # whatever LibreOffice raises, opsdoc turns it into one clear message
                message = f"{type(exc).__name__}: {exc}"
                if not alive(desktop):
                    say(error="office-died", message=message)
                    desktop = None
                    return 4
                say(error="failed", message=message)
                continue
            say(toc=toc, section_pages=section_pages)
        return 0
    finally:
        if desktop is not None:
            with contextlib.suppress(Exception):  # the bridge drops while LibreOffice quits
                desktop.terminate()
        try:
            office.wait(timeout=15)
        except subprocess.TimeoutExpired:
            office.kill()
            office.wait()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
