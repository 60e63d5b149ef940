"""The export's work on a document, run inside LibreOffice's own process.

opsdoc never imports this module, and neither does uno_export.py: the helper has LibreOffice's
Python loader (python3-uno's, as for any Python extension) load it into soffice.bin once per
LibreOffice, and calls the job it defines over the bridge, four times a document:

    {"step": "open", "docx": …}                       → {}
    {"step": "lay out"}                               → {"toc": [[style, text], …], "section_pages": M or null}
    {"step": "export", "pdf": …, "options": {…}}      → {}
    {"step": "close"}                                 → {}

each as one JSON string in and out (com.sun.star.task.XJob, an interface LibreOffice already
knows: a new one would need type libraries). Laying a document out asks LibreOffice for its
fields, the text portions of its footers and every line of its TOC: a few hundred calls, which
over the bridge cost a round trip each (about 0.1 s of CPU a document, LibreOffice's and the helper's)
and in here almost nothing. A step that fails answers {"error": "Type: message"} and closes the
document; nothing is raised across the bridge, where pyuno would wrap it with its traceback.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import uno
import unohelper
from com.sun.star.beans import PropertyValue
from com.sun.star.task import XJob

NAME = "org.opsdoc.LayOutAndExport"  # the implementation name uno_export.py activates
FIELD_CODE = "vnd.oasis.opendocument.field.code"  # where LibreOffice keeps a Word field's instruction


def properties(**values: Any) -> tuple[Any, ...]:
    result = []
    for name, value in values.items():
        item = PropertyValue()
        item.Name, item.Value = name, value
        result.append(item)
    return tuple(result)


class LayOutAndExport(unohelper.Base, XJob):  # type: ignore[misc]  # pyuno's, untyped
    """One document at a time: opened, laid out (its TOC and 共 M 页 filled in), exported, closed."""

    def __init__(self, context: Any) -> None:
        self.desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        self.document: Any = None

    def execute(self, arguments: Any) -> str:
        request = json.loads(next(a.Value for a in arguments if a.Name == "request"))
        step = {"open": self.open, "lay out": self.lay_out, "export": self.export, "close": self.close}[request["step"]]
        try:
            return json.dumps(step(request), ensure_ascii=False)
        except Exception as exc:  # whatever LibreOffice raises, the helper turns it into one clear message
            self.close()
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)

    def open(self, request: dict[str, Any]) -> dict[str, Any]:
        self.close()
        document = self.desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(request["docx"]), "_blank", 0, properties(Hidden=True, ReadOnly=True)
        )
        if document is None:
            raise RuntimeError("LibreOffice 无法打开该文档")
        self.document = document
        return {}

    def lay_out(self, _request: dict[str, Any]) -> dict[str, Any]:
        document = self.document
        indexes = [document.getDocumentIndexes().getByIndex(i) for i in range(document.getDocumentIndexes().getCount())]
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
        return {"toc": toc, "section_pages": section_pages}

    def export(self, request: dict[str, Any]) -> dict[str, Any]:
        wanted = request.get("options", {})
        settings = {"FilterName": "writer_pdf_Export"}
        if wanted.get("archival"):
            self.document.getDocumentProperties().Keywords = tuple(wanted.get("keywords", ()))
            # SelectPdfVersion 2 is PDF/A-2b: fonts embedded, XMP metadata, no transparency groups lost.
            filter_data = properties(SelectPdfVersion=2)
            settings["FilterData"] = uno.Any("[]com.sun.star.beans.PropertyValue", filter_data)
        # uno.invoke keeps the typed Any: a plain tuple would arrive as sequence<any> and be ignored.
        uno.invoke(self.document, "storeToURL", (uno.systemPathToFileUrl(request["pdf"]), properties(**settings)))
        return {}

    def close(self, _request: dict[str, Any] | None = None) -> dict[str, Any]:
        document, self.document = self.document, None
        if document is not None:
            with contextlib.suppress(Exception):
                document.close(True)
        return {}


def fill_section_pages(document: Any) -> int | None:
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
    search = document.createSearchDescriptor()
    search.SearchStyles = True
    search.SearchString = "Heading 1"
    heading = document.findFirst(search)
    if heading is not None:
        cursor.gotoRange(heading.getStart(), False)
        start = cursor.getPage()
    count: int = controller.getPropertyValue("PageCount") - start + 1
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
    """Each TOC line's paragraph style and text."""
    lines, paragraphs = [], anchor.createEnumeration()
    while paragraphs.hasMoreElements():
        line = paragraphs.nextElement()
        lines.append([line.ParaStyleName, line.getString()])
    return lines


# What LibreOffice's Python loader looks for in a component module.
g_ImplementationHelper = unohelper.ImplementationHelper()
g_ImplementationHelper.addImplementation(LayOutAndExport, NAME, (NAME,))
