"""Work that depends only on the template, kept between runs: each process need not redo it.

The template prepared for rendering (python-docx opening it, docxtpl's tag clean-up: see
opsdoc.generate.prepared) and Jinja's compilation of its parts take a third of a whole
`opsdoc build` of a sample-sized workbook, and give the same result for the same template
every time. They are kept in ~/.cache/opsdoc/templates (or under
$XDG_CACHE_HOME), each entry named by a hash of its input and of everything its result
depends on (Python, the library's version, the source of the module that produces it), so
a changed template, library or opsdoc never meets an old entry. An entry carries a hash of
its content and is used only when that matches; a cache that cannot be read or written is
no cache. A template that fails to compile is never stored: it fails again, with the same message.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

MAX_ENTRIES = 256  # about 30 MB at most; the oldest go first


def cache_folder(name: str) -> Path:
    """opsdoc's folder `name` in the user's cache (~/.cache/opsdoc/name, or under $XDG_CACHE_HOME)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "opsdoc" / name


class Cache:
    """Results of one kind of work, by input; `depends` names what else the results depend on."""

    def __init__(self, kind: str, *depends: str | Path) -> None:
        self.kind = kind
        self.depends = depends
        self._version: bytes | None = None

    def get(self, key: bytes, compute: Callable[[], bytes]) -> bytes:
        """The result for `key`: stored by an earlier run, else computed (and stored)."""
        path = self._path(key)
        try:
            stored = path.read_bytes() if path else b""
        except OSError:
            stored = b""
        digest, content = stored[:32], stored[32:]
        if digest and hashlib.sha256(content).digest() == digest:
            return content
        result = compute()
        if path:
            _store(path, hashlib.sha256(result).digest() + result)
        return result

    def _path(self, key: bytes) -> Path | None:
        try:
            if self._version is None:
                parts = [sys.version.encode(), self.kind.encode()]
                parts += [d.read_bytes() if isinstance(d, Path) else d.encode() for d in self.depends]
                self._version = hashlib.sha256(b"\0".join(parts)).digest()
            name = f"{hashlib.sha256(self._version + key).hexdigest()}.{self.kind}"
            return cache_folder("templates") / name
        except (OSError, RuntimeError, KeyError):  # a module not in a file, no home folder: no cache
            return None


def _store(path: Path, data: bytes) -> None:
    """Written whole or not at all (rename); other users cannot read or write the folder."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        entries = sorted(path.parent.glob(f"*.{path.suffix[1:]}"), key=lambda entry: entry.stat().st_mtime)
        for old in entries[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
