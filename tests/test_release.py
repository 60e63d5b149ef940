"""A release a document controller can trust: each thing a 文控 must refuse is refused, with the
exit code and a message naming the file, cell or version; versions take effect on their 生效日期."""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsdoc import api
from opsdoc.cli import main
from opsdoc.control import issue as control
from opsdoc.control.archive import folder_name, resolve, value_of
from opsdoc.control.database import LEGACY_LAYOUT, register_exists
from opsdoc.control.register import REGISTER_NAME, entries, open_register
from opsdoc.errors import IssuedVersionExists, OutputError
from opsdoc.pipeline import IssueOptions, issue
from tests.support import edit_sample, register_sql
from tests.test_issue import V21, fake_lay_out

TODAY = date.today()
IN_TWO_WEEKS = datetime.combine(TODAY + timedelta(days=14), datetime.min.time())


def _issue(workbook: Path, archive: Path, **options):
    return issue(workbook, IssueOptions(archive=archive, backdate=True, **options), lay_out=fake_lay_out)


def _cli(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


def _statuses(archive: Path, on: date | None = None) -> list[tuple[str, str]]:
    with open_register(archive) as connection:
        return [(e.version, e.status) for e in entries(connection, on=on)]


@pytest.fixture
def v20(tmp_path) -> tuple[Path, Path]:
    """The sample's V2.0 issued into a fresh archive (its 生效日期 has passed: backdated)."""
    archive = tmp_path / "归档"
    assert _issue(edit_sample(tmp_path, name="V2.0.xlsx"), archive).issued is not None
    return archive, tmp_path


# ---------------------------------------------------------------- binding and continuity


def test_another_projects_workbook_under_a_registered_code_is_refused_naming_both_titles(v20):
    archive, folder = v20
    other = edit_sample(folder, {**V21, "文档信息!B1": "滨海市中心血站信息系统运维服务项目"}, name="B.xlsx")
    result = _cli("issue", str(other), "--archive", str(archive), "--backdate")
    assert result.exit_code == 3, result.output
    assert "《滨海市第一人民医院信息系统运维服务项目运维工作管理规范》" in result.output
    assert "《滨海市中心血站信息系统运维服务项目运维工作管理规范》" in result.output
    assert _statuses(archive) == [("V2.0", "现行")]


def test_a_deliberate_rename_is_issued_and_recorded(v20):
    archive, folder = v20
    renamed = edit_sample(
        folder, {**V21, "文档信息!B1": "滨海市第一人民医院（东院区）信息系统运维服务项目"}, name="B.xlsx"
    )
    assert _issue(renamed, archive, rename=True).issued is not None
    newest = api.register_entries(archive)[0]
    assert newest.title.startswith("滨海市第一人民医院（东院区）") and "--rename" in newest.acknowledged
    assert "文件名称由《滨海市第一人民医院信息系统运维服务项目运维工作管理规范》改为" in newest.acknowledged


def test_history_rewritten_after_release_is_refused_at_its_cells(v20):
    archive, folder = v20
    rewritten = edit_sample(folder, {**V21, "修订记录!C5": "王小明", "修订记录!H5": "另写的说明"}, name="B.xlsx")
    result = _issue(rewritten, archive)
    assert result.issued is None
    found = [(f.code, str(f.location)) for f in result.report.findings if f.code.startswith("history")]
    assert found == [("history-rewritten", "修订记录!C5"), ("history-rewritten", "修订记录!H5")]
    assert "发布时为「周建峰」，现为「王小明」" in result.report.findings[-2].message


def test_a_deleted_history_row_of_an_issued_version_is_refused(v20):
    archive, folder = v20
    without = edit_sample(folder, V21, delete_rows=[("修订记录", 5)], name="B.xlsx")
    result = _issue(without, archive)
    assert result.issued is None
    assert "history-missing-version" in [f.code for f in result.report.findings]


# ---------------------------------------------------------------- dates


def test_a_backdated_effective_date_is_refused_unless_acknowledged(tmp_path):
    workbook = edit_sample(tmp_path)
    result = _cli("issue", str(workbook), "--archive", str(tmp_path / "归档"))
    assert result.exit_code == 1
    assert "文档信息!B9  警告 [effective-before-issue] 生效日期 2026-09-15 早于今天" in result.output
    assert not register_exists(tmp_path / "归档")
    assert _issue(workbook, tmp_path / "归档").issued is not None
    assert "（--backdate）" in api.register_entries(tmp_path / "归档")[0].acknowledged


def test_the_register_and_the_cover_give_one_release_date(v20):
    archive, _ = v20
    (entry,) = api.register_entries(archive)
    assert entry.approved_on == "2026-09-07"  # the cover's 发布日期: the last 修订记录 row's 批准日期
    listed = _cli("register", "list", "--archive", str(archive)).output
    assert "发布日期 2026-09-07" in listed


# ---------------------------------------------------------------- the lifecycle


def test_a_later_effective_date_leaves_the_predecessor_in_force_until_then(v20):
    archive, folder = v20
    v21 = edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx")
    result = _cli("issue", str(v21), "--archive", str(archive))
    assert result.exit_code == 0, result.output
    assert f"V2.1：待生效，{IN_TWO_WEEKS.date().isoformat()} 起为现行版本" in result.output
    assert "已作废" not in result.output
    assert _statuses(archive) == [("V2.1", "待生效"), ("V2.0", "现行")]
    day_before = (IN_TWO_WEEKS - timedelta(days=1)).strftime("%Y-%m-%d")
    on_the_day = IN_TWO_WEEKS.strftime("%Y-%m-%d")
    before = _cli("register", "list", "--archive", str(archive), "--on", day_before).output
    assert before.splitlines()[:2] == [line for line in before.splitlines()[:2] if line.startswith(("待生效", "现行"))]
    assert before.startswith("待生效  QT-YW-GF-BH01-001  V2.1") and "\n现行  QT-YW-GF-BH01-001  V2.0" in before
    after = _cli("register", "list", "--archive", str(archive), "--on", on_the_day).output
    assert after.startswith("现行  QT-YW-GF-BH01-001  V2.1") and "\n作废  QT-YW-GF-BH01-001  V2.0" in after
    # no 作废 copy before the day; on it, sync (or any issue) makes it
    assert control.sync(archive, datetime.now()) == []
    (voided,) = control.sync(archive, IN_TWO_WEEKS)
    assert voided.version == "V2.0" and (archive / voided.void_pdf_path).is_file()
    from opsdoc.control.register import verify_archive

    assert verify_archive(archive, IN_TWO_WEEKS.date()).findings == []


def test_a_new_version_while_one_is_pending_is_refused_and_a_pending_one_can_be_withdrawn(v20):
    archive, folder = v20
    _issue(edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx"), archive)
    v22 = {**V21, "文档信息!B4": "V2.2", "修订记录!A6": "V2.2", "文档信息!B9": IN_TWO_WEEKS}
    refused = _cli("issue", str(edit_sample(folder, v22, name="V2.2.xlsx")), "--archive", str(archive))
    assert refused.exit_code == 3 and "V2.1 待生效" in refused.output and "register withdraw" in refused.output
    withdrawn = _cli("register", "withdraw", "QT-YW-GF-BH01-001", "V2.1", "--archive", str(archive), "--by", "王芳")
    assert withdrawn.exit_code == 0 and "撤销" in withdrawn.output
    later = (IN_TWO_WEEKS + timedelta(days=30)).date()
    assert _statuses(archive, on=later) == [("V2.1", "撤销"), ("V2.0", "现行")]
    again = _cli("register", "withdraw", "QT-YW-GF-BH01-001", "V2.0", "--archive", str(archive))
    assert again.exit_code == 3 and "只有待生效的版本可以撤销" in again.output


def test_reissuing_a_withdrawn_version_is_refused(v20):
    archive, folder = v20
    v21 = edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx")
    _issue(v21, archive)
    control.withdraw(archive, "QT-YW-GF-BH01-001", "V2.1", by="王芳")
    with pytest.raises(IssuedVersionExists, match=r"V2\.1 已撤销"):
        _issue(v21, archive)


# ---------------------------------------------------------------- the archive's paths


def test_codes_that_once_shared_a_folder_get_their_own(tmp_path):
    archive = tmp_path / "归档"
    for code, name in (("QT_YW-001", "甲.xlsx"), ("QT/YW-001", "乙.xlsx")):
        project = f"项目{name[0]}信息系统运维服务项目"
        workbook = edit_sample(tmp_path, {"文档信息!B3": code, "文档信息!B1": project}, name=name)
        assert _issue(workbook, archive).issued is not None
    folders = sorted(p.name for p in archive.iterdir() if p.is_dir())
    assert folders == ["QT%2FYW-001", "QT_YW-001"] and value_of("QT%2FYW-001") == "QT/YW-001"
    assert api.verify_archive(archive).findings == []


def test_a_code_differing_only_in_case_is_refused(v20):
    archive, folder = v20
    lower = edit_sample(folder, {**V21, "文档信息!B3": "qt-yw-gf-bh01-001"}, name="B.xlsx")
    result = _cli("issue", str(lower), "--archive", str(archive), "--backdate")
    assert result.exit_code == 3 and "QT-YW-GF-BH01-001" in result.output and "大小写" in result.output


@pytest.mark.parametrize("value", ["QT/YW-001", ".hidden", "CON", "a%2Fb", "编码：甲/乙", "V2.0.", " 空格 "])
def test_folder_names_read_back_to_their_value(value):
    name = folder_name(value)
    assert value_of(name) == value and "/" not in name and not name.startswith(".") and not name.endswith((".", " "))


def test_a_code_folder_that_is_a_symbolic_link_is_not_written_through(tmp_path):
    archive, outside = tmp_path / "归档", tmp_path / "外部"
    archive.mkdir()
    outside.mkdir()
    (archive / "QT-YW-GF-BH01-001").symlink_to(outside)
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(archive), "--backdate")
    assert result.exit_code == 2 and "符号链接" in result.output and "QT-YW-GF-BH01-001" in result.output
    assert list(outside.iterdir()) == []


def test_a_register_path_leading_outside_is_never_written_and_verify_names_it(v20):
    archive, folder = v20
    register_sql(archive, "UPDATE issued SET pdf_path = '../外部/伪.pdf'")
    (folder / "外部").mkdir()
    (folder / "外部" / "伪.pdf").write_bytes(b"%PDF-1.4 not ours")
    report = api.verify_archive(archive)
    assert "archive-unsafe-path" in [f.code for f in report.findings]
    with pytest.raises(api.OpsdocError, match="不在归档文件夹内"):
        _issue(edit_sample(folder, V21, name="V2.1.xlsx"), archive)
    assert list((folder / "外部").iterdir()) == [folder / "外部" / "伪.pdf"]


def test_verify_reports_what_would_block_the_next_issue(v20):
    archive, folder = v20
    (archive / "QT-YW-GF-BH01-001" / "V2.1").mkdir()  # an empty version folder nobody registered
    (archive / ".opsdoc-staging-abc").mkdir()  # left by a killed issue
    (archive / "链接.pdf").symlink_to(folder / "V2.0.xlsx")
    codes = {f.code: f.message for f in api.verify_archive(archive).findings}
    assert set(codes) == {"archive-unregistered-folder", "archive-staging-left", "archive-symlink"}
    assert "删除或移出归档" in codes["archive-unregistered-folder"] and "删除" in codes["archive-staging-left"]
    blocked = _cli("issue", str(edit_sample(folder, V21, name="V2.1.xlsx")), "--archive", str(archive), "--backdate")
    assert blocked.exit_code == 3 and "register verify" in blocked.output


def test_a_missing_previous_pdf_is_named(v20):
    archive, folder = v20
    (entry,) = api.register_entries(archive)
    (archive / entry.pdf_path).unlink()
    with pytest.raises(OutputError, match=r"V2\.0 的 PDF 不在归档中") as refused:
        _issue(edit_sample(folder, V21, name="V2.1.xlsx"), archive)
    assert refused.value.path == archive / entry.pdf_path
    assert _statuses(archive) == [("V2.0", "现行")]


def test_an_altered_previous_pdf_is_not_stamped(v20):
    archive, folder = v20
    (entry,) = api.register_entries(archive)
    (archive / entry.pdf_path).write_bytes(b"%PDF-1.4 altered")
    with pytest.raises(api.OpsdocError, match="被改动过"):
        _issue(edit_sample(folder, V21, name="V2.1.xlsx"), archive)
    assert not any(p.name.endswith("_作废.pdf") for p in archive.rglob("*"))


def test_an_unwritable_archive_names_the_folder_and_the_cause(tmp_path, monkeypatch):
    real = control.tempfile.mkdtemp

    def refuse(suffix=None, prefix=None, dir=None):  # what a read-only archive does (root writes anywhere here)
        if dir is not None and Path(dir).name == "归档":
            raise PermissionError(13, "Permission denied", str(dir))
        return real(suffix, prefix, dir)

    monkeypatch.setattr(control.tempfile, "mkdtemp", refuse)
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(tmp_path / "归档"), "--backdate")
    assert result.exit_code == 2, result.output
    assert "归档" in result.output and "Permission denied" in result.output and "内部错误" not in result.output


@pytest.mark.own_register
def test_a_full_disk_is_not_called_a_damaged_register(v20):
    from opsdoc.control.database import _unusable

    problem = _unusable(str(v20[0] / REGISTER_NAME), sqlite3.OperationalError("database or disk is full"))
    assert isinstance(problem, OutputError) and "磁盘已满" in problem.message and "损坏" not in problem.message


def test_resolve_refuses_paths_out_of_the_archive(tmp_path):
    for relative in ("../x.pdf", "/etc/passwd", "a/../../x", "a\\..\\x", ""):
        with pytest.raises(api.OpsdocError):
            resolve(tmp_path, relative)


# ---------------------------------------------------------------- an earlier register


@pytest.mark.own_register
def test_a_register_of_layout_1_is_migrated_with_its_versions(tmp_path):
    archive = tmp_path / "归档"
    archive.mkdir()
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        connection.executescript(LAYOUT_1)
        for version, status, issued_at in (
            ("V1.0", "作废", "2026-01-05T10:00:00+08:00"),
            ("V2.0", "现行", "2026-09-07T10:00:00+08:00"),
        ):
            connection.execute(
                "INSERT INTO issued VALUES (NULL, 'QT-1', '甲规范', ?, 'a', '2026-01-01', 'b', '2026-01-02', 'c',"
                " '2026-01-03', ?, '内部', ?, '', ?, 'x', ?, 'y', NULL, NULL, ?, '文控', NULL, NULL)",
                (
                    version,
                    "2026-01-04" if version == "V1.0" else "2026-09-08",
                    status,
                    f"QT-1/{version}/a.docx",
                    f"QT-1/{version}/a.pdf",
                    issued_at,
                ),
            )
    assert _statuses(archive) == [("V2.0", "现行"), ("V1.0", "作废")]
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == LEGACY_LAYOUT
        assert connection.execute("SELECT file_code, title FROM documents").fetchall() == [("QT-1", "甲规范")]


# The register's first layout, as opsdoc 0.1 wrote it.
LAYOUT_1 = """
PRAGMA application_id=1330664260;
PRAGMA user_version=1;
CREATE TABLE issued (
    id INTEGER PRIMARY KEY, file_code TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
    compiled_by TEXT NOT NULL, compiled_on TEXT NOT NULL, reviewed_by TEXT NOT NULL, reviewed_on TEXT NOT NULL,
    approved_by TEXT NOT NULL, approved_on TEXT NOT NULL, effective_on TEXT NOT NULL, secrecy TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('现行', '作废')), note TEXT NOT NULL, docx_path TEXT NOT NULL,
    docx_sha256 TEXT NOT NULL, pdf_path TEXT NOT NULL, pdf_sha256 TEXT NOT NULL, void_pdf_path TEXT,
    void_pdf_sha256 TEXT, issued_at TEXT NOT NULL, issued_by TEXT NOT NULL, superseded_at TEXT, superseded_by TEXT,
    UNIQUE (file_code, version)
);
CREATE UNIQUE INDEX one_current_version ON issued (file_code) WHERE status = '现行';
"""

assert os.sep == "/"  # the archive's paths are POSIX; these tests run where CI runs


def test_a_refusal_by_verify_names_the_document_not_the_staging_copy(tmp_path, monkeypatch):
    from opsdoc.contract.findings import Place, Report, finding

    def verify_staged(path, template, workbook, pdf=None):
        return Report(str(path), [finding("toc-missing", Place(part="body"), "文档中没有目录域")])

    monkeypatch.setattr(control, "verify_document", verify_staged)
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(tmp_path / "归档"), "--backdate")
    assert result.exit_code == 1, result.output
    assert "QT-YW-GF-BH01-001_滨海市第一人民医院信息系统运维服务项目运维工作管理规范_V2.0.docx" in result.output
    assert ".opsdoc-staging" not in result.output


def test_a_full_disk_while_staging_names_the_archive_and_the_cause(tmp_path, monkeypatch):
    import errno

    def full(path, data, **_kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        except OSError as exc:
            raise OutputError(path, "无法写入") from exc

    monkeypatch.setattr(control, "write_atomic", full)
    archive = tmp_path / "归档"
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(archive), "--backdate")
    assert result.exit_code == 2, result.output
    assert f"错误：{archive}: 无法写入归档（No space left on device）" in result.output
    assert ".opsdoc-staging" not in result.output
    assert [p.name for p in archive.iterdir() if p.name != REGISTER_NAME] == []


# ---------------------------------------------------------------- a hostile round's cases


@pytest.mark.own_register
def test_a_register_that_is_a_symbolic_link_is_never_opened(tmp_path):
    archive, outside = tmp_path / "归档", tmp_path / "外部"
    archive.mkdir()
    outside.mkdir()
    (archive / REGISTER_NAME).symlink_to(outside / "planted.sqlite")
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(archive), "--backdate")
    assert result.exit_code == 2 and "符号链接" in result.output, result.output
    assert list(outside.iterdir()) == []


def test_the_register_checks_run_again_under_the_lock(v20, monkeypatch):
    """A version another issue files while this one is being verified is seen before this one is filed."""
    archive, folder = v20
    v22 = {**V21, "文档信息!B4": "V2.2", "修订记录!A6": "V2.2"}
    real_verify = control.verify_document
    meanwhile = []

    def verify_while_another_files(*args, **kwargs):
        if not meanwhile:
            meanwhile.append("V2.2")
            _issue(edit_sample(folder, v22, name="V2.2.xlsx"), archive)
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(control, "verify_document", verify_while_another_files)
    with pytest.raises(IssuedVersionExists, match=r"已登记的 V2\.2 不低于 V2\.1"):
        _issue(edit_sample(folder, V21, name="V2.1.xlsx"), archive)
    assert [v for v, _ in _statuses(archive)] == ["V2.2", "V2.0"]


@pytest.mark.parametrize("code", ["QT-YW-GF-BH01-001\u200b", "QТ-YW-GF-BH01-001", "QT-YW\u202e-001"])
def test_a_code_with_invisible_or_lookalike_letters_is_refused_at_its_cell(tmp_path, code):
    found = api.check(edit_sample(tmp_path, {"文档信息!B3": code})).report.findings
    assert [(f.code, str(f.location)) for f in found] == [("bad-value", "文档信息!B3")]


def test_another_documents_damaged_pdf_does_not_stop_a_release(v20):
    archive, folder = v20
    _issue(edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx"), archive)
    # V2.1 took effect yesterday, no sync since
    register_sql(
        archive, "UPDATE issued SET effective_on = :day WHERE version = 'V2.1'", day=str(TODAY - timedelta(days=1))
    )
    (v20_entry,) = [e for e in api.register_entries(archive) if e.version == "V2.0"]
    (archive / v20_entry.pdf_path).write_bytes(b"%PDF-1.4 damaged")
    other = edit_sample(
        folder, {"文档信息!B3": "QT-YW-GF-BH02-001", "文档信息!B1": "滨海市中心血站信息系统运维服务项目"}, name="B.xlsx"
    )
    assert _issue(other, archive).issued is not None
    assert "archive-void-pending" in [f.code for f in api.verify_archive(archive).findings]


def test_the_printed_register_is_never_written_into_the_archive(v20):
    archive, _ = v20
    with pytest.raises(api.OpsdocError, match="不能写在归档文件夹内"):
        api.export_register(archive, archive / "受控文件清单.xlsx")


def test_a_hand_edited_register_is_reported_not_an_internal_error(v20):
    archive, _ = v20
    register_sql(
        archive,
        "UPDATE issued SET docx_path = :path, effective_on = '2026-9-15', title = :title",
        path="/a\x01b.docx" if os.environ.get("OPSDOC_REGISTER_URL") else "a\x00b.docx",  # PostgreSQL text has no NUL
        title="甲\x01乙",
    )
    codes = [f.code for f in api.verify_archive(archive).findings]
    assert "archive-unsafe-path" in codes and "register-inconsistent" in codes
    assert api.export_register(archive, archive.parent / "清单.xlsx").status == "written"


def test_a_pipe_where_a_registered_file_was_does_not_hang(v20):
    archive, folder = v20
    (entry,) = api.register_entries(archive)
    (archive / entry.docx_path).unlink()
    os.mkfifo(archive / entry.docx_path)
    with pytest.raises(api.OpsdocError, match="不是普通文件"):
        _issue(edit_sample(folder, name="again.xlsx"), archive)
    assert "不是普通文件" in next(
        f.message for f in api.verify_archive(archive).findings if f.code == "archive-missing-file"
    )


def test_a_staging_folder_is_reported_once(v20):
    archive, _ = v20
    (archive / ".opsdoc-staging-x" / "version").mkdir(parents=True)
    (archive / ".opsdoc-staging-x" / "version" / "a.pdf").write_bytes(b"x")
    assert [f.code for f in api.verify_archive(archive).findings] == ["archive-staging-left"]


def test_a_failed_first_release_of_a_code_leaves_no_folder(tmp_path, monkeypatch):
    from opsdoc.control import register

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(register, "insert_entry", fail)
    with pytest.raises(OutputError):
        _issue(edit_sample(tmp_path), tmp_path / "归档")
    assert [p.name for p in (tmp_path / "归档").iterdir() if p.name != REGISTER_NAME] == []


def test_a_code_too_long_for_a_folder_name_is_refused_before_layout(tmp_path):
    result = _issue(edit_sample(tmp_path, {"文档信息!B3": "、" * 40}), tmp_path / "归档")
    assert result.issued is None and "file-code-unfilable" in [f.code for f in result.report.findings]


def test_withdraw_takes_the_code_and_version_as_typed(v20):
    archive, folder = v20
    _issue(edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx"), archive)
    assert control.withdraw(archive, "ＱＴ-YW-GF-BH01-001", "Ｖ２．１", by="王芳").status == "撤销"


def test_an_empty_by_is_a_usage_error(tmp_path):
    result = _cli("issue", str(edit_sample(tmp_path)), "--archive", str(tmp_path / "归档"), "--by", " ")
    assert result.exit_code == 2 and "--by" in result.output


def test_a_day_before_a_version_was_filed_does_not_list_it(v20):
    archive, _ = v20
    assert _statuses(archive, on=date(2026, 1, 1)) == []


@pytest.mark.own_register
def test_a_layout_1_register_whose_codes_would_share_a_folder_names_them(tmp_path):
    archive = tmp_path / "归档"
    archive.mkdir()
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        connection.executescript(LAYOUT_1)
        for code in ("QT-1", "qt-1"):
            connection.execute(
                "INSERT INTO issued VALUES (NULL, ?, '甲规范', 'V1.0', 'a', '2026-01-01', 'b', '2026-01-02', 'c',"
                " '2026-01-03', '2026-01-04', '内部', '现行', '', 'x.docx', 'x', 'x.pdf', 'y', NULL, NULL,"
                " '2026-01-05T10:00:00+08:00', '文控', NULL, NULL)",
                (code,),
            )
    with pytest.raises(api.OpsdocError, match="QT-1 与 qt-1"):
        api.register_entries(archive)


def test_a_register_refusal_also_says_the_workbook_has_errors(v20):
    archive, folder = v20
    other = edit_sample(
        folder, {**V21, "文档信息!B1": "滨海市中心血站信息系统运维服务项目", "绩效考核!B2": 90}, name="B.xlsx"
    )
    result = _cli("issue", str(other), "--archive", str(archive), "--backdate")
    assert result.exit_code == 3 and "已登记为《" in result.output and "另外工作簿有 1 个错误" in result.output


def test_a_void_copy_names_the_version_that_replaced_it_not_the_newest(v20):
    """V2.0 → V2.1 (in effect, no sync since) → V2.2: V2.0 was replaced by V2.1."""
    archive, folder = v20
    _issue(edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx"), archive)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    register_sql(archive, "UPDATE issued SET effective_on = :day WHERE version = 'V2.1'", day=yesterday)
    assert [(e.version, e.superseded_by) for e in api.register_entries(archive)] == [("V2.1", None), ("V2.0", "V2.1")]
    today = datetime.combine(TODAY, datetime.min.time())
    v22 = {**V21, "文档信息!B4": "V2.2", "修订记录!A7": "V2.2", "文档信息!B9": today}
    v22.update(
        {
            f"修订记录!{c}7": v
            for c, v in zip(
                "BCDEFGH",
                ["2026-10-20", "周建峰", "2026-10-21", "吴海燕", "2026-10-22", "陈立群", "WJGG-2026-070"],
                strict=True,
            )
        }
    )
    _issue(edit_sample(folder, v22, name="V2.2.xlsx"), archive)
    rows = {e.version: e for e in api.register_entries(archive)}
    assert (rows["V2.0"].superseded_by, rows["V2.1"].superseded_by) == ("V2.1", "V2.2")


def test_withdrawing_twice_says_it_is_withdrawn_already(v20):
    archive, folder = v20
    _issue(edit_sample(folder, {**V21, "文档信息!B9": IN_TWO_WEEKS}, name="V2.1.xlsx"), archive)
    first = _cli("register", "withdraw", "QT-YW-GF-BH01-001", "V2.1", "--archive", str(archive), "--by", "王芳")
    assert first.exit_code == 0 and f"V2.1：已撤销（王芳，{TODAY.isoformat()}）" in first.output
    again = _cli("register", "withdraw", "QT-YW-GF-BH01-001", "V2.1", "--archive", str(archive))
    assert again.exit_code == 3 and "V2.1 已撤销，不能再次撤销" in again.output
