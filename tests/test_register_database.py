"""The register's database: one schema on SQLite and PostgreSQL, Alembic's migrations, and where it is named.

Like test_release.py and test_copies.py, each test here runs on both databases (conftest.py), except
those marked own_register, which set up their register themselves.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from opsdoc import api
from opsdoc.cli import main
from opsdoc.control import copies, database
from opsdoc.control.database import REGISTER_NAME, REVISIONS, VERSION_TABLE, open_register
from tests.support import edit_sample, register_sql
from tests.test_issue import _issue_project

PREVIOUS = Path(__file__).parent / "data" / "register-0.2.0" / "归档"  # written by opsdoc 0.2.0 (README there)
CODE = "QT-YW-GF-BH01-001"


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _issue(workbook: Path, archive: Path) -> None:
    result = _cli("issue", str(workbook), "--archive", str(archive), "--backdate", "--by", "李文控")
    assert result.exit_code == 0, result.output


def test_the_migrations_make_the_schema_the_code_queries(tmp_path):
    (tmp_path / "归档").mkdir()
    with open_register(tmp_path / "归档", create=True) as register:
        differences = compare_metadata(
            MigrationContext.configure(register.connection, opts={"version_table": VERSION_TABLE}), database.metadata
        )
        revision = register.connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
    assert differences == [] and revision == REVISIONS[-1]


@pytest.mark.own_register
def test_the_revisions_the_code_knows_are_alembics():
    config = Config()
    config.set_main_option("script_location", "opsdoc.control:migrations")
    walked = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]
    assert tuple(reversed(walked)) == REVISIONS


def test_eight_issues_at_once_into_a_new_register_leave_eight_rows(tmp_path):
    """Eight processes create the register and file their versions at the same moment: nothing is lost."""
    folder = tmp_path / "归档"
    jobs = [
        (
            edit_sample(tmp_path, {"文档信息!B1": f"项目{k}", "文档信息!B3": f"QT-YW-GF-BH0{k}-001"}, name=f"{k}.xlsx"),
            folder,
            k,
        )
        for k in range(8)
    ]
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        outcomes = pool.map(_issue_project, jobs)
    assert outcomes == ["issued"] * 8
    assert sorted(e.file_code for e in api.register_entries(folder)) == [f"QT-YW-GF-BH0{k}-001" for k in range(8)]
    assert api.verify_archive(folder).passes()


def test_a_register_of_a_newer_opsdoc_is_refused_untouched(tmp_path):
    archive = tmp_path / "归档"
    _issue(edit_sample(tmp_path), archive)
    register_sql(archive, f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    for _ in range(2):  # and said again: nothing was changed by the first refusal
        result = _cli("register", "list", "--archive", str(archive))
        assert result.exit_code == 2 and "登记册由更新版本的 opsdoc 创建（修订 9999），请升级 opsdoc" in result.output


def test_a_database_holding_another_applications_tables_is_not_taken(tmp_path, register_backend):
    archive = tmp_path / "归档"
    archive.mkdir()
    if register_backend == "postgresql":
        import psycopg

        with psycopg.connect(os.environ["OPSDOC_REGISTER_URL"], autocommit=True) as other:
            other.execute("CREATE TABLE issued (x int)")
        said = "数据库中已有表 issued，但它不是 opsdoc 登记册"
    else:
        sqlite3.connect(archive / REGISTER_NAME).execute("CREATE TABLE issued (x)").connection.commit()
        said = "这个 SQLite 文件不是 opsdoc 登记册"
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(archive), "--backdate")
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output, result.output
    assert [p.name for p in archive.iterdir() if p.name != REGISTER_NAME] == []


def test_the_register_url_in_the_archives_opsdoc_toml_is_where_the_register_is(tmp_path, monkeypatch, register_backend):
    """On PostgreSQL the archive folder holds the versions only; on SQLite (no register_url) the file too."""
    url = os.environ.pop("OPSDOC_REGISTER_URL", None)
    monkeypatch.delenv("OPSDOC_REGISTER_URL", raising=False)
    if url:
        (tmp_path / "opsdoc.toml").write_text(f'register_url = "{url}"\n', encoding="utf-8")
    archive = tmp_path / "归档"
    _issue(edit_sample(tmp_path), archive)
    assert (archive / REGISTER_NAME).exists() == (register_backend == "sqlite")
    listed = _cli("register", "list", "--archive", str(archive))
    assert listed.exit_code == 0 and f"现行  {CODE}  V2.0" in listed.output, listed.output


@pytest.mark.own_register
def test_a_folder_of_versions_without_its_register_is_not_given_a_second_one(tmp_path):
    """Who forgot the register_url must not start an empty SQLite register beside a server's versions."""
    archive = tmp_path / "归档"
    (archive / CODE / "V2.0").mkdir(parents=True)
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(archive), "--backdate")
    assert result.exit_code == 2 and "登记册可能在服务器数据库上" in result.output and "register_url" in result.output
    assert not (archive / REGISTER_NAME).exists()


@pytest.mark.own_register
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://opsdoc@127.0.0.1:1/登记册", "无法连接登记册数据库"),
        ("mysql://opsdoc@db/登记册", "登记册只能放在 PostgreSQL 上"),
        ("不是地址", "不是数据库地址"),
        ("postgresql://opsdoc:s3cret@127.0.0.1:端口/登记册", "不是数据库地址"),
        ("postgresql://opsdoc@127.0.0.1:1/登记册?password=s3cret", "无法连接登记册数据库"),
    ],
)
def test_a_register_url_that_cannot_be_used_is_said_so(tmp_path, url, said):
    (tmp_path / "opsdoc.toml").write_text(f'register_url = "{url}"\n', encoding="utf-8")
    (tmp_path / "归档").mkdir()
    result = _cli("register", "list", "--archive", str(tmp_path / "归档"))
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output, result.output
    assert "s3cret" not in result.output  # never a password, only who and where


@pytest.mark.own_register
def test_a_register_of_the_previous_release_is_migrated_and_goes_on(tmp_path):
    """opsdoc 0.2.0's register (SQLite layout 3, before Alembic): recorded as revision 0001, then carried on."""
    archive = tmp_path / "归档"
    shutil.copytree(PREVIOUS, archive)
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        assert VERSION_TABLE not in {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        before = {
            t: connection.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("issued", "copies", "reviews")
        }
    verified = _cli("register", "verify", "--archive", str(archive))
    assert verified.exit_code == 0, verified.output
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        assert connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(REVISIONS[-1],)]
        after = {
            t: connection.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("issued", "copies", "reviews")
        }
    assert after == before  # every row as 0.2.0 wrote it
    entries = api.register_entries(archive)
    assert [(e.version, e.status) for e in entries] == [("V2.1", "现行"), ("V2.0", "作废")]
    assert [(h.copy.number, h.copy.holder) for h in api.copies(archive)] == [("001", "张伟"), (None, "王强")]
    recalled = _cli("register", "recall", CODE, "V2.1", "001", "--archive", str(archive), "--by", "李文控")
    assert recalled.exit_code == 0, recalled.output
    _issue(edit_sample(tmp_path, {"文档信息!B3": "QT-YW-GF-BH01-002", "文档信息!B1": "另一个项目"}), archive)
    assert api.verify_archive(archive).passes()


@pytest.mark.server_register
def test_a_register_moved_to_postgresql_goes_on_there_and_its_file_takes_no_more_writes(tmp_path, monkeypatch):
    url = os.environ["OPSDOC_REGISTER_URL"]  # the empty database made for this test
    monkeypatch.delenv("OPSDOC_REGISTER_URL")
    archive = tmp_path / "归档"
    shutil.copytree(PREVIOUS, archive)  # opsdoc 0.2.0's register, with copies and a review
    before = [(e.version, e.status, e.docx_sha256) for e in api.register_entries(archive)]
    moved = _cli("register", "move", "--archive", str(archive), "--to", url, "--by", "李文控")
    assert moved.exit_code == 0, moved.output
    assert "documents 1 行、issued 2 行、copies 2 行、reviews 1 行" in moved.output
    told = re.search(r'register_url = "([^"]+)"', moved.output).group(1)
    assert told == url.replace(":opsdoc@", "@")  # the password is never printed: ~/.pgpass or PGPASSWORD give it
    monkeypatch.setenv("PGPASSWORD", "opsdoc")
    # the file now says where the register went, and refuses what an opsdoc still using it would write
    refused = _cli("register", "list", "--archive", str(archive))
    assert refused.exit_code == 2 and "由 李文控 迁移到数据库" in refused.output and "register_url" in refused.output
    with pytest.raises(sqlite3.IntegrityError, match="已迁移"), sqlite3.connect(archive / REGISTER_NAME) as late:
        late.execute("UPDATE copies SET recalled_on = '2026-12-07'")
    # with register_url, everything is there and goes on: ids continue after the copied ones
    (tmp_path / "opsdoc.toml").write_text(f'register_url = "{told}"\n', encoding="utf-8")
    assert [(e.version, e.status, e.docx_sha256) for e in api.register_entries(archive)] == before
    assert [(h.copy.id, h.copy.number) for h in api.copies(archive)] == [(1, "001"), (2, None)]
    done = copies.distribute(archive, CODE, "V2.1", tmp_path / "发放", api.Handout("赵敏"), lay_out=lambda _: b"%PDF")
    assert (done.copy.id, done.copy.number) == (3, "002")
    assert api.verify_archive(archive).passes()
    again = _cli("register", "move", "--archive", str(archive), "--to", url)
    assert again.exit_code == 2 and "已在服务器数据库上" in again.output


@pytest.mark.server_register
def test_a_register_is_moved_only_into_an_empty_database(tmp_path, monkeypatch):
    url = os.environ["OPSDOC_REGISTER_URL"]
    other = tmp_path / "另一个归档"
    _issue(edit_sample(tmp_path), other)  # a register on the server already
    monkeypatch.delenv("OPSDOC_REGISTER_URL")
    archive = tmp_path / "归档"
    shutil.copytree(PREVIOUS, archive)
    refused = _cli("register", "move", "--archive", str(archive), "--to", url)
    assert refused.exit_code == 2 and "请迁移到一个空的数据库" in refused.output, refused.output
    assert [e.version for e in api.register_entries(archive)] == ["V2.1", "V2.0"]  # the file goes on as it was


def test_the_web_page_issues_into_the_register_wherever_it_is(tmp_path, register_backend):
    """The page is one more client of the register: a 文控 issues in it, the CLI reads what it filed."""
    from opsdoc.web.accounts import Accounts
    from opsdoc.web.app import Settings, create_app
    from tests.support import uno_python
    from tests.test_web import PASSWORD, _finished, _signed_in, _upload

    uno_python()
    Accounts(tmp_path / "web").add("李文控", "controller", PASSWORD)
    archive = tmp_path / "归档"
    app = create_app(Settings(data=tmp_path / "web", archive=archive))
    controller = _signed_in(app, "李文控")
    page = _finished(controller, _upload(controller, "/issue", edit_sample(tmp_path), backdate="on")).data.decode()
    assert f"{CODE} V2.0：已发布并登记" in page, page[-1500:]
    listed = _cli("register", "list", "--archive", str(archive))
    assert listed.exit_code == 0 and f"现行  {CODE}  V2.0" in listed.output and "李文控" in listed.output
    assert (archive / REGISTER_NAME).exists() == (register_backend == "sqlite")


@pytest.mark.server_register
def test_a_move_whose_file_cannot_be_closed_leaves_the_server_empty_and_the_file_the_register(tmp_path, monkeypatch):
    from opsdoc.control import move
    from opsdoc.errors import OutputError

    url = os.environ["OPSDOC_REGISTER_URL"]
    monkeypatch.delenv("OPSDOC_REGISTER_URL")
    archive = tmp_path / "归档"
    shutil.copytree(PREVIOUS, archive)
    closed = move._close_to_writes
    commit = database.Register.commit

    def close_then_fail_on_commit(source, *args):
        closed(source, *args)
        monkeypatch.setattr(database.Register, "commit", failing)

    def failing(register):
        if not register.server:
            raise OutputError(None, "磁盘已满")
        commit(register)

    monkeypatch.setattr(move, "_close_to_writes", close_then_fail_on_commit)
    failed = _cli("register", "move", "--archive", str(archive), "--to", url)
    assert failed.exit_code == 2 and "磁盘已满" in failed.output
    monkeypatch.setattr(database.Register, "commit", commit)
    monkeypatch.setattr(move, "_close_to_writes", closed)
    import psycopg

    with psycopg.connect(url) as server:
        tables = [r[0] for r in server.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == []  # the server's copy was taken away again
    assert [e.version for e in api.register_entries(archive)] == ["V2.1", "V2.0"]  # the file is the register still
    recalled = _cli("register", "recall", CODE, "V2.1", "001", "--archive", str(archive))
    assert recalled.exit_code == 0, recalled.output
    again = _cli("register", "move", "--archive", str(archive), "--to", url)
    assert again.exit_code == 0, again.output  # and it moves now
