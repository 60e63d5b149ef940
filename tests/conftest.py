"""Shared fixtures; the helpers they use live in tests/support.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import SAMPLE


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / SAMPLE.name
    shutil.copyfile(SAMPLE, path)
    return path
