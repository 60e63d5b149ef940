"""`opsdoc import`: a 运维工作管理规范 written in Word, read back into the workbook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsdoc.contract.findings import Report
from opsdoc.contract.model import SHEETS
from opsdoc.errors import IssuedVersionExists, UnusableDocument
from opsdoc.office.output import FileKind, Outputs, Written
from opsdoc.office.package import OLE2_SIGNATURE


@dataclass(frozen=True)
class ImportResult:
    report: Report  # what the manager must complete
    file: Written  # the workbook written


def import_document(source: Path, output: Path, *, template: Path | None = None, force: bool = False) -> ImportResult:
    """Read `source` along the template's layout and write the workbook `output`.

    Every value that could be placed is in the workbook; the report lists what the manager
    must complete. Nothing is written when the document cannot be read or `output` exists
    (with force, it is replaced, but never when it is the document itself).
    """
    from opsdoc.generate.context import default_template
    from opsdoc.importer.layout import read_layout
    from opsdoc.importer.legacy import read_legacy
    from opsdoc.importer.write import filled_workbook
    from opsdoc.office.docx_text import read_document

    if output.exists() and not force:
        raise IssuedVersionExists(output, "文件已存在（可能是已填写的工作簿），未覆盖；确需覆盖请加 --force")
    _refuse_legacy_doc(source)
    layout = read_layout(template or default_template())
    imported = read_legacy(read_document(source), layout)
    outputs = Outputs(inputs=[source], force=force)
    outputs.add(FileKind.WORKBOOK, output, filled_workbook(imported))
    (written,) = outputs.write()
    return ImportResult(Report(str(source), imported.findings, tuple(s.title for s in SHEETS)), written)


def _refuse_legacy_doc(source: Path) -> None:
    """A Word 97-2003 .doc: say how to convert it (the generic preflight cannot tell it from an encrypted file)."""
    if source.suffix.lower() != ".doc" or not source.is_file():
        return
    with source.open("rb") as stream:
        if stream.read(8) != OLE2_SIGNATURE:
            return
    raise UnusableDocument(
        source,
        "这是旧版 Word 97-2003 文档（.doc），无法直接导入：请在 Word 或 WPS 中“另存为” Word 文档（.docx），"
        f"或运行 soffice --headless --convert-to docx {source.name}，再导入生成的 .docx",
    )
