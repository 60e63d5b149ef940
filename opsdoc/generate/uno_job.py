"""The export's work on a document, run inside LibreOffice's own process.

opsdoc never imports this module, and neither does uno_export.py: the helper has LibreOffice's
Python loader (python3-uno's, as for any Python extension) load it into soffice.bin once per
LibreOffice, and calls the job it defines over the bridge, four times a document:

    {"step": "open", "docx": …}                       → {}
    {"step": "lay out"}                               → {"toc": [[style, text], …], "section_pages": M or null}
    {"step": "export", "pdf": …, "options": {…}}      → {}
    {"step": "close"}                                 → {}

each as one JSON string in and out (com.sun.star.task.XJob, an interface LibreOffice already
knows: a new one would need type libraries). Laying a document out reads the text portions of
its footers and text frames and every line of its TOC: a few hundred calls, which over the
bridge cost a round trip each (about 0.1 s of CPU a document, LibreOffice's and the helper's)
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
        steps = {"open": self.open, "lay out": self.lay_out, "export": self.export, "close": self.close}
        try:
            request = json.loads(next(a.Value for a in arguments if a.Name == "request"))
            return json.dumps(steps[request["step"]](request), ensure_ascii=False)
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
    into every such field of the headers and footers, the text frames and the text boxes (where a
    footer's "page X of Y" is often set; write_section_pages does the same in the .docx's header and
    footer parts, text boxes included); None for a document without one."""
    named = document.getTextFrames()
    frames = [named.getByName(name).getText() for name in named.getElementNames()]
    texts = [*_headers_and_footers(document), *frames, *_text_boxes(document)]
    fields = [pieces for text in texts if text for pieces in _field_results(text, "SECTIONPAGES")]
    if not fields:
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
    for pieces in fields:
        for k, piece in enumerate(pieces):
            piece.setString(str(count) if k == 0 else "")  # any further pieces of the old result are emptied
    return count


def _headers_and_footers(document: Any) -> Any:
    """The header and footer texts of every page style: the common one, and the left and first-page ones
    where they are of their own (a shared one is the same text again: filled twice, it would say 1313).
    Looked up here, not among the document's fields: enumerating those costs 15 ms a document."""
    styles = document.getStyleFamilies().getByName("PageStyles")
    for name in styles.getElementNames():
        style = styles.getByName(name)
        for part in ("Header", "Footer"):
            if not style.getPropertyValue(f"{part}IsOn"):
                continue
            yield style.getPropertyValue(f"{part}Text")
            if not style.getPropertyValue(f"{part}IsShared"):
                yield style.getPropertyValue(f"{part}TextLeft")
            if not style.FirstIsShared:
                yield style.getPropertyValue(f"{part}TextFirst")


def _field_results(text: Any, code: str) -> list[list[Any]]:
    """The text portions showing each result of a Word field `code` in `text` (its tables included)."""
    found: list[list[Any]] = []
    shown: list[Any] | None = None
    paragraphs = text.createEnumeration()
    while paragraphs.hasMoreElements():
        paragraph = paragraphs.nextElement()
        if paragraph.supportsService("com.sun.star.text.TextTable"):
            for cell in paragraph.getCellNames():
                found += _field_results(paragraph.getCellByName(cell), code)
            continue
        portions = paragraph.createEnumeration()
        while portions.hasMoreElements():
            portion = portions.nextElement()
            kind = portion.TextPortionType
            if kind == "TextFieldStart":
                parameters = portion.Bookmark.getParameters()
                words = parameters.getByName(FIELD_CODE).split() if parameters.hasByName(FIELD_CODE) else []
                shown = [] if words[:1] == [code] else None  # Word writes switches after it: \* MERGEFORMAT
                if shown is not None:
                    found.append(shown)
            elif kind == "TextFieldSeparator" and shown is not None:
                del shown[:]  # what came before the separator is the instruction, where it is shown as text
            elif kind == "TextFieldEnd":
                shown = None
            elif shown is not None and kind == "Text":
                shown.append(portion)
    return found


def _text_boxes(document: Any) -> Any:
    """The text of each text box: a drawing shape's, kept in a frame that the text frames leave out."""
    shapes = document.getDrawPage()
    for index in range(shapes.getCount()):
        shape = shapes.getByIndex(index)
        known = shape.getPropertySetInfo()
        boxed = known.hasPropertyByName("TextBox") and shape.TextBox and known.hasPropertyByName("TextBoxContent")
        if boxed and (content := shape.TextBoxContent) is not None:
            yield content.getText()


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
