"""`opsdoc import`: a 运维工作管理规范 written in Word, read back into the workbook."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from opsdoc.contract.findings import Report, finding
from opsdoc.contract.model import SHEETS
from opsdoc.errors import IssuedVersionExists
from opsdoc.office.output import FileKind, Outputs, Written
from opsdoc.office.package import OLE2_SIGNATURE

CONVERTED = {".doc", ".wps"}  # read through LibreOffice (Word 97-2003, WPS)


@dataclass(frozen=True)
class ImportResult:
    report: Report  # what the manager must complete
    file: Written  # the workbook written
    summary: str  # placed N values (by sheet), what to look at, whether the document follows the template


def import_document(
    source: Path, output: Path, *, template: Path | None = None, force: bool = False, config: Path | None = None
) -> ImportResult:
    """Read `source` along the template's layout and write the workbook `output`.

    Every value that could be placed is in the workbook; the report lists what the manager
    must complete. Nothing is written when the document cannot be read or `output` exists
    (with force, it is replaced, but never when it is the document itself, by any name or link).
    A .doc or .wps is converted by LibreOffice first.
    """
    from opsdoc.contract.conventions import load_conventions
    from opsdoc.contract.synonyms import bundled
    from opsdoc.generate.context import default_template
    from opsdoc.importer.layout import read_layout
    from opsdoc.importer.legacy import read_legacy, summary
    from opsdoc.importer.write import filled_workbook
    from opsdoc.office.docx_text import read_document

    if output.exists() and not force:
        raise IssuedVersionExists(output, "文件已存在（可能是已填写的工作簿），未覆盖；确需覆盖请加 --force")
    outputs = Outputs(inputs=[source], force=force)  # the document itself is never the output
    synonyms = bundled().merged(load_conventions(source, config).synonyms.model_dump())
    layout = read_layout(template or default_template())
    with tempfile.TemporaryDirectory(prefix="opsdoc-import-") as work:
        document = read_document(_as_docx(source, Path(work)))
    document.path = source
    imported = read_legacy(document, layout, synonyms)
    for place, part in document.imported:
        imported.findings.append(
            finding(
                "import-unreadable-content",
                place,
                f"这里嵌入了 Word 打开时才导入的内容（{part}，如 HTML 或 RTF），opsdoc 读不了，没有导入："
                "请在 Word 中打开后另存为 .docx，再导入",
            )
        )
    outputs.add(FileKind.WORKBOOK, output, filled_workbook(imported))
    (written,) = outputs.write()
    report = Report(str(source), imported.findings, tuple(s.title for s in SHEETS))
    return ImportResult(report, written, summary(imported, layout, converted=_converted(source)))


def _converted(source: Path) -> bool:
    if source.suffix.lower() in CONVERTED:
        return True
    try:
        with source.open("rb") as stream:
            return stream.read(8) == OLE2_SIGNATURE and source.suffix.lower() != ".docx"
    except OSError:
        return False


def _as_docx(source: Path, work: Path) -> Path:
    """The document as a .docx: itself, or a .doc/.wps converted by LibreOffice into `work`."""
    if not _converted(source) or not source.is_file():
        return source
    from opsdoc.generate.pdf import convert_to_docx

    return convert_to_docx(source, work)
