"""Exceptions for "cannot continue"; everything a manager can fix is a Finding instead."""

from pathlib import Path


class OpsdocError(Exception):
    """Base class: the CLI prints the message as one line and exits with `exit_code`."""

    exit_code = 2

    def __init__(self, path: Path | str | None, message: str):
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UnusableWorkbook(OpsdocError):
    """Raised when a workbook cannot be read at all: missing, not an .xlsx, encrypted, damaged."""


class TemplateError(OpsdocError):
    """Raised when the Word template cannot be rendered: missing, broken tags, unknown variable."""


class UnusableDocument(OpsdocError):
    """Raised when a Word document cannot be read at all: missing, not a .docx, encrypted, damaged."""


class LibreOfficeMissing(OpsdocError):
    """Raised when the PDF export lacks LibreOffice, its Python bridge (python3-uno) or the CJK fonts."""


class PdfExportError(OpsdocError):
    """Raised when LibreOffice fails or times out while converting a document to PDF."""


class OutputError(OpsdocError):
    """Raised when the output cannot be written: folder missing, not writable, file locked."""


class IssuedVersionExists(OpsdocError):
    """Raised when the output file exists with other bytes: an issued version is never overwritten."""

    exit_code = 3
