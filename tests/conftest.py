"""Shared fixtures; the helpers they use live in tests/support.py."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import SAMPLE


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / SAMPLE.name
    shutil.copyfile(SAMPLE, path)
    return path


# ---------------------------------------------------------------- the register on SQLite and on PostgreSQL

# The register's own tests run twice: on the SQLite file in the archive folder, and on a fresh PostgreSQL
# database each, when OPSDOC_TEST_POSTGRES names a server whose account may create databases (.ci/run starts
# one). A test that sets up its register itself (the SQLite file's bytes, its layouts before Alembic, a URL
# of its own) is marked own_register and runs once.
REGISTER_MODULES = {"test_release", "test_copies", "test_register_database"}
POSTGRES = os.environ.get("OPSDOC_TEST_POSTGRES", "")
if os.environ.get("OPSDOC_REQUIRE_POSTGRES") == "1" and not POSTGRES:
    raise pytest.UsageError("OPSDOC_REQUIRE_POSTGRES=1 but OPSDOC_TEST_POSTGRES names no PostgreSQL server")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "server_register: a register test that needs PostgreSQL (run on it only)")
    config.addinivalue_line(
        "markers", "own_register: a register test that sets up its register itself (run once, not on both databases)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if metafunc.definition.get_closest_marker("server_register"):
        metafunc.parametrize("register_backend", ["postgresql"] if POSTGRES else [], indirect=True)
    elif module in REGISTER_MODULES and not metafunc.definition.get_closest_marker("own_register"):
        metafunc.parametrize("register_backend", ["sqlite", *(["postgresql"] if POSTGRES else [])], indirect=True)


@pytest.fixture(autouse=True)
def register_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Where this test's registers are: "sqlite" (the file in each archive folder) or "postgresql"."""
    backend = getattr(request, "param", "sqlite")
    monkeypatch.delenv("OPSDOC_REGISTER_URL", raising=False)
    if backend != "postgresql":
        yield backend
        return
    with postgres_database() as url:
        monkeypatch.setenv("OPSDOC_REGISTER_URL", url)
        yield backend


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards: its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    from opsdoc.control import database

    name = f"opsdoc_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(POSTGRES).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        for key in [k for k in database._engines if k.endswith(f"/{name}")]:  # its pooled connections
            database._engines.pop(key).dispose()
        # A plain DROP first: it stops an autovacuum worker visiting the new database itself, where FORCE
        # refuses to terminate one without pg_signal_backend. FORCE only for a connection a test left open.
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as server:
            try:
                server.execute(f'DROP DATABASE IF EXISTS "{name}"')
            except psycopg.errors.ObjectInUse:
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
