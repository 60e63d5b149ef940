"""The life of a version after release (ISO 9001 7.5.3.2): copies handed out and recalled, periodic
review, retention and disposal, the release package filed with each version, the printed register,
and a register written by the previous opsdoc release."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from opsdoc import api
from opsdoc.cli import main
from opsdoc.contract.conventions import Conventions
from opsdoc.control import copies, review
from opsdoc.control.database import LEGACY_LAYOUT, REVISIONS, VERSION_TABLE
from opsdoc.control.register import REGISTER_NAME, entries, open_register
from opsdoc.errors import IssuedVersionExists, OpsdocError
from opsdoc.pipeline import IssueOptions, issue
from tests.support import edit_sample, register_sql, unavailable, uno_python
from tests.test_issue import V21, fake_lay_out

CODE = "QT-YW-GF-BH01-001"
LEGACY = Path(__file__).parent / "data" / "register-0.1.0" / "归档"


def _cli(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


def _issue(workbook: Path, archive: Path):
    result = issue(workbook, IssueOptions(archive=archive, backdate=True, by="李文控"), lay_out=fake_lay_out)
    assert result.issued is not None, result.report.to_text()
    return result.issued


@pytest.fixture
def v20(tmp_path) -> Path:
    """The sample's V2.0 in a fresh archive, in force since 2026-09-15."""
    archive = tmp_path / "归档"
    _issue(edit_sample(tmp_path, name="V2.0.xlsx"), archive)
    return archive


def _pdf_stand_in(docx: bytes) -> bytes:
    """The copy's marks, as a stand-in for its PDF: the text of the marked .docx's footers."""
    with zipfile.ZipFile(__import__("io").BytesIO(docx)) as package:
        return b"".join(package.read(n) for n in package.namelist() if n.startswith("word/footer"))


def _hand_out(archive: Path, holder: str, *, controlled: bool = True, on: date | None = None):
    handout = copies.Handout(holder, "运维服务部", 2, controlled, on)
    return copies.distribute(archive, CODE, "V2.0", archive.parent / "发放", handout, lay_out=_pdf_stand_in).copy


def _pages(pdf: Path) -> list[str]:
    count = int(
        next(
            line
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        ).split()[1]
    )
    return [
        subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for n in range(1, count + 1)
    ]


# ---------------------------------------------------------------- copies, end to end


def test_three_holders_an_uncontrolled_copy_supersession_and_recall(v20, tmp_path):
    """The issue's whole story, through the CLI, with the copies laid out by LibreOffice."""
    uno_python()
    if not shutil.which("pdftotext"):
        unavailable("poppler (pdftotext)", "poppler-utils")
    out = tmp_path / "发放"
    for holder, department in (("张伟", "运维服务部"), ("王芳", "客户信息科"), ("赵强", "质量部")):
        result = _cli(
            "register",
            "distribute",
            CODE,
            "V2.0",
            "--archive",
            str(v20),
            "--to",
            holder,
            "--dept",
            department,
            "--copies",
            "2",
            "-o",
            str(out),
            "--by",
            "李文控",
        )
        assert result.exit_code == 0, result.output
    result = _cli(
        "register", "distribute", CODE, "V2.0", "--archive", str(v20), "--to", "刘洋", "--uncontrolled", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "非受控副本：刘洋 1 份" in result.output

    for number in ("001", "002", "003"):
        (pdf,) = out.glob(f"*_V2.0_分发号{number}.pdf")
        pages = _pages(pdf)
        assert len(pages) > 10
        # every page, the cover included, says it is controlled copy number N
        assert all(f"受控（分发号 {number}）" in page for page in pages), number
        assert not any("非受控" in page for page in pages)
    (uncontrolled,) = out.glob("*_V2.0_非受控.pdf")
    pages = _pages(uncontrolled)
    assert all("非受控（仅供参考）" in page for page in pages)
    assert not any("分发号" in page or "受控状态：受控" in page for page in pages)  # no number, never 受控

    superseding = _cli("issue", str(edit_sample(tmp_path, V21, name="V2.1.xlsx")), "--archive", str(v20), "--backdate")
    assert superseding.exit_code == 0, superseding.output
    listed = [line for line in superseding.output.splitlines() if line.startswith("待回收：")]
    assert listed == [
        f"待回收：{CODE} V2.0 分发号 001  张伟（运维服务部）  2 份",
        f"待回收：{CODE} V2.0 分发号 002  王芳（客户信息科）  2 份",
        f"待回收：{CODE} V2.0 分发号 003  赵强（质量部）  2 份",
    ]  # the 非受控 copy is never recalled

    for number in ("1", "003"):  # as typed, or as printed
        recalled = _cli("register", "recall", CODE, "V2.0", number, "--archive", str(v20), "--by", "李文控")
        assert recalled.exit_code == 0, recalled.output
    again = _cli("register", "recall", CODE, "V2.0", "001", "--archive", str(v20))
    assert again.exit_code == 3 and "已于" in again.output

    outstanding = _cli("register", "copies", "--recall", "--archive", str(v20))
    assert outstanding.exit_code == 1
    assert [line.split()[:5] for line in outstanding.output.splitlines()[:-1]] == [
        ["待回收", CODE, "V2.0（作废）", "分发号", "002"]
    ]
    assert "共 1 份，其中待回收 1 份" in outstanding.output


def test_only_a_version_in_force_is_handed_out_and_only_a_handed_out_copy_recalled(v20, tmp_path):
    _issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), v20)  # V2.0 is 作废 now
    refused = _cli("register", "distribute", CODE, "V2.0", "--archive", str(v20), "--to", "张伟", "-o", str(tmp_path))
    assert refused.exit_code == 3 and "只能分发现行或待生效的版本" in refused.output
    unknown = _cli("register", "recall", CODE, "V2.1", "009", "--archive", str(v20))
    assert unknown.exit_code == 2 and "分发号 009" in unknown.output
    assert register_sql(v20, "SELECT count(*) FROM copies") == [(0,)]


def test_copy_numbers_follow_the_order_of_handing_out_and_a_failed_copy_takes_none(v20):
    assert _hand_out(v20, "张伟").number == "001"
    assert _hand_out(v20, "刘洋", controlled=False).number is None

    def broken(_docx: bytes) -> bytes:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copies.distribute(v20, CODE, "V2.0", v20.parent / "发放", copies.Handout("王芳"), lay_out=broken)
    assert _hand_out(v20, "赵强").number == "002"
    assert sorted(p.name.rsplit("_", 1)[-1] for p in (v20.parent / "发放").iterdir()) == [
        "分发号001.pdf",
        "分发号002.pdf",
        "非受控.pdf",
    ]


# ---------------------------------------------------------------- review and retention


def test_review_falls_due_a_year_after_it_took_effect_and_a_recorded_review_starts_the_clock_again(v20):
    assert _cli("register", "due", "--archive", str(v20), "--on", "2027-08-01").exit_code == 0
    soon = _cli("register", "due", "--archive", str(v20), "--on", "2027-08-20")  # within 30 days
    assert soon.exit_code == 1 and f"定期评审  {CODE}  V2.0  2027-09-15 到期" in soon.output
    late = _cli("register", "due", "--archive", str(v20), "--on", "2027-10-01")
    assert "已逾期（2027-09-15）" in late.output and "每 12 个月评审一次" in late.output

    recorded = _cli("register", "review", CODE, "V2.0", "--archive", str(v20), "--on", "2026-12-01", "--by", "吴海燕")
    assert recorded.exit_code == 0, recorded.output
    assert review.due(v20, Conventions(), date(2027, 10, 1)) == []
    again = review.due(v20, Conventions(), date(2027, 11, 20))
    assert [(d.duty, d.by) for d in again] == [(review.Duty.REVIEW, "2027-12-01")]
    assert "上次评审于 2026-12-01" in again[0].what
    # the period is the company's
    (v20.parent / "opsdoc.toml").write_text("review_months = 6\n", encoding="utf-8")
    half = _cli("register", "due", "--archive", str(v20), "--on", "2027-05-20")
    assert "2027-06-01 到期" in half.output and "每 6 个月评审一次" in half.output
    future = _cli("register", "review", CODE, "V2.0", "--archive", str(v20), "--on", "2099-01-01")
    assert future.exit_code == 2 and "在今天之后" in future.output


def test_a_superseded_version_is_disposed_of_only_after_its_retention_and_its_copies_are_back(v20, tmp_path):
    _hand_out(v20, "张伟")
    _issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), v20)  # V2.0 作废 from 2026-10-15
    keep = Conventions()  # three years, files kept
    early = datetime(2029, 10, 14, 12)
    with pytest.raises(IssuedVersionExists, match="2029-10-15 才满"):
        review.dispose(v20, CODE, "V2.0", keep, now=early)
    expired = datetime(2029, 10, 16, 12)
    with pytest.raises(IssuedVersionExists, match="先回收再处置"):
        review.dispose(v20, CODE, "V2.0", keep, now=expired)
    copies.recall(v20, CODE, "V2.0", "001")
    assert [d.duty for d in review.due(v20, keep, expired.date())] == [review.Duty.REVIEW, review.Duty.DISPOSAL]

    remove = Conventions(dispose_files="remove")
    disposed = review.dispose(v20, CODE, "V2.0", remove, by="李文控", now=expired)
    assert disposed.disposed_by == "李文控" and disposed.files_removed
    assert not (v20 / CODE / "V2.0").exists()
    assert api.verify_archive(v20).passes()  # the row stays, its files are gone on purpose
    assert [e.version for e in api.register_entries(v20)] == ["V2.1", "V2.0"]
    with pytest.raises(IssuedVersionExists, match="已于"):
        review.dispose(v20, CODE, "V2.0", remove, now=expired)


# ---------------------------------------------------------------- the release package


def test_each_version_is_filed_with_its_修订说明_and_the_对比稿_against_the_one_before(v20, tmp_path):
    first = api.register_entries(v20)[0]
    assert first.redline_path is None and first.notes_path  # a first issue has nothing to compare with
    assert "（首次发布）" in (v20 / first.notes_path).read_text(encoding="utf-8")

    _issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), v20)
    new, old = api.register_entries(v20)
    notes = (v20 / new.notes_path).read_text(encoding="utf-8")
    assert "版本：V2.1（替代 V2.0）" in notes and "V2.0 → V2.1" in notes
    assert "封面 修改 实施日期：2026年9月15日 → 2026年10月15日" in notes
    with zipfile.ZipFile(v20 / new.redline_path) as package:
        body = package.read("word/document.xml").decode("utf-8")
    assert "<w:ins " in body and "<w:del " in body  # tracked changes against V2.0

    # the superseded .docx carries its mark too, filed and hashed with the 作废 PDF
    assert old.void_docx_path and old.void_pdf_path
    with zipfile.ZipFile(v20 / old.void_docx_path) as package:
        parts = {n: package.read(n).decode("utf-8") for n in package.namelist() if n.startswith("word/")}
    footers = [text for name, text in parts.items() if name.startswith("word/footer") and "受控状态" in text]
    assert footers and all("受控状态：作废" in text for text in footers)
    assert not any("受控状态：受控" in text for text in parts.values())
    assert any("已被 V2.1 替代（2026-10-15）" in text for name, text in parts.items() if name.startswith("word/header"))

    assert api.verify_archive(v20).passes()
    (v20 / new.redline_path).write_bytes(b"changed")
    report = api.verify_archive(v20)
    assert [f.code for f in report.findings] == ["archive-altered-file"]


# ---------------------------------------------------------------- the printed register


def test_the_export_is_the_printed_register_with_its_distribution_and_review_sheets(v20, tmp_path):
    _hand_out(v20, "张伟")
    _issue(
        edit_sample(
            tmp_path,
            {**V21, "修订记录!H6": "WJGG-2026-061\n第4章：新增备份演练\n第5章：巡检改为每周"},
            name="V2.1.xlsx",
        ),
        v20,
    )
    output = tmp_path / "受控文件清单.xlsx"
    result = _cli(
        "register", "export", "--archive", str(v20), "-o", str(output), "--by", "李文控", "--on", "2026-12-20"
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == ["受控文件清单", "分发回收记录", "评审与保存"]
    versions = book["受控文件清单"]
    assert versions["A1"].value == "海澜信息技术有限公司运维服务部 受控文件清单"
    assert versions["A2"].value.startswith("截至 2026-12-20　制表人：李文控")
    headers = [c.value for c in versions[3]]
    for term in ("文件编码", "文件名称", "版本号", "密级", "发布日期", "实施日期", "状态", "修订说明"):
        assert term in headers
    row = {h: c.value for h, c in zip(headers, versions[4], strict=True)}
    assert row["版本号"] == "V2.1" and row["密级"] == "内部" and row["发布日期"] == "2026-10-12"
    assert row["修订说明"] == "WJGG-2026-061\n第4章：新增备份演练\n第5章：巡检改为每周"  # whole, not its first line
    for sheet in book.worksheets:
        assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "landscape"  # 9: A4
        assert sheet.print_title_rows == "$1:$3"
    copies_sheet = book["分发回收记录"]
    assert [c.value for c in copies_sheet[4]][4:7] == ["001", "受控", "张伟"]
    assert copies_sheet.cell(4, 14).value == "待回收"
    reviews = {c.value: i for i, c in enumerate(book["评审与保存"][3])}
    assert book["评审与保存"].cell(4, reviews["下次评审"] + 1).value == "2027-10-15"
    assert book["评审与保存"].cell(5, reviews["保存期限至"] + 1).value == "2029-10-15"


# ---------------------------------------------------------------- an earlier opsdoc's register


@pytest.mark.own_register
def test_a_register_written_by_opsdoc_0_1_0_is_upgraded_and_verifies(tmp_path):
    archive = tmp_path / "归档"
    shutil.copytree(LEGACY, archive)
    with sqlite3.connect(archive / REGISTER_NAME) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 2  # as 0.1.0 left it
    verified = _cli("register", "verify", "--archive", str(archive))
    assert verified.exit_code == 0, verified.output
    with open_register(archive) as connection:
        upgraded = entries(connection)
    with sqlite3.connect(archive / REGISTER_NAME) as connection:  # layout 3, then Alembic's newest revision
        assert connection.execute("PRAGMA user_version").fetchone()[0] == LEGACY_LAYOUT
        assert connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(REVISIONS[-1],)]
    assert [(e.version, e.status, e.issued_by) for e in upgraded] == [
        ("V2.1", "现行", "李文控"),
        ("V2.0", "作废", "李文控"),
    ]
    assert upgraded[1].void_pdf_path and upgraded[1].void_docx_path is None  # nothing of 0.1.0's is lost or invented
    # 0.1.0 marked only the PDF of a 作废 version: verify says so, and sync marks the .docx too
    assert [f.code for f in api.verify_archive(archive).findings] == ["archive-void-pending"]
    assert [e.version for e in api.sync_register(archive)] == ["V2.0"]
    assert api.register_entries(archive)[1].void_docx_path.endswith("_V2.0_作废.docx")
    # and it goes on living: a copy of the version in force, a review
    done = copies.distribute(archive, CODE, "V2.1", tmp_path / "发放", copies.Handout("张伟"), lay_out=_pdf_stand_in)
    assert done.copy.number == "001"
    review.review(archive, CODE, "V2.1", by="吴海燕")
    assert api.verify_archive(archive).passes()


def test_a_document_the_workbook_calls_uncontrolled_has_only_uncontrolled_copies(tmp_path):
    archive = tmp_path / "归档"
    _issue(edit_sample(tmp_path, {"文档信息!B8": "非受控"}, name="V2.0.xlsx"), archive)
    refused = _cli(
        "register", "distribute", CODE, "V2.0", "--archive", str(archive), "--to", "张伟", "-o", str(tmp_path)
    )
    assert refused.exit_code == 3 and "只能分发非受控副本（--uncontrolled）" in refused.output
    assert _hand_out(archive, "张伟", controlled=False).number is None


def test_a_copy_is_never_written_into_the_archive(v20):
    inside = _cli(
        "register", "distribute", CODE, "V2.0", "--archive", str(v20), "--to", "张伟", "-o", str(v20 / "发放")
    )
    assert inside.exit_code == 2 and "副本不能写在归档文件夹内" in inside.output
    assert not (v20 / "发放").exists()


@pytest.mark.own_register
def test_a_register_of_0_1_0_on_a_read_only_share_is_read_as_it_is(tmp_path, monkeypatch):
    """An auditor who may only read the archive still lists and verifies it; nothing is written."""
    import opsdoc.control.database as database

    archive = tmp_path / "归档"
    shutil.copytree(LEGACY, archive)
    before = (archive / REGISTER_NAME).read_bytes()

    def read_only(_connection):  # as SQLAlchemy reports SQLite's refusal
        raise OperationalError("ALTER TABLE", None, sqlite3.OperationalError("attempt to write a readonly database"))

    monkeypatch.setattr(database, "_migrate_from_2", read_only)
    listed = _cli("register", "list", "--archive", str(archive))
    assert listed.exit_code == 0 and "现行  QT-YW-GF-BH01-001  V2.1" in listed.output, listed.output
    assert _cli("register", "copies", "--archive", str(archive)).exit_code == 0
    assert _cli("register", "verify", "--archive", str(archive)).exit_code == 0
    assert (archive / REGISTER_NAME).read_bytes() == before


def test_what_a_文控_types_for_a_copy_is_checked_before_anything_is_laid_out(v20, tmp_path):
    def never(_docx: bytes) -> bytes:
        raise AssertionError("laid out")

    folder = tmp_path / "发放"
    for handout, message in (
        (copies.Handout("张伟", on=date.today() + timedelta(days=1)), "在今天之后"),
        (copies.Handout("张\n伟"), "含有换行或控制字符"),
        (copies.Handout("张伟", "运维\x1b[31m部"), "含有换行或控制字符"),
        (copies.Handout("张" * 41), "超过 40 个字符"),
        (copies.Handout("  "), "接收人不能为空"),
        (copies.Handout("张伟", count=0), "份数应为 1 到 9999"),
        (copies.Handout("张伟", count=10**20), "份数应为 1 到 9999"),
    ):
        with pytest.raises(OpsdocError, match=message):
            copies.distribute(v20, CODE, "V2.0", folder, handout, lay_out=never)
    a_file = tmp_path / "一个文件"
    a_file.write_text("x")
    not_a_folder = _cli(
        "register", "distribute", CODE, "V2.0", "--archive", str(v20), "--to", "张伟", "-o", str(a_file)
    )
    assert not_a_folder.exit_code == 2 and "不是文件夹" in not_a_folder.output
    assert register_sql(v20, "SELECT count(*) FROM copies") == [(0,)]


def test_a_backdated_handout_of_a_version_no_longer_in_force_is_refused(v20, tmp_path):
    _issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), v20)  # V2.0 was 现行 until 2026-10-15
    with pytest.raises(IssuedVersionExists, match="只能分发现行或待生效的版本"):
        copies.distribute(
            v20, CODE, "V2.0", tmp_path / "发放", copies.Handout("张伟", on=date(2026, 10, 1)), lay_out=_pdf_stand_in
        )


def test_a_copy_number_is_recalled_however_it_is_typed_and_the_past_is_shown_as_it_was(v20):
    _hand_out(v20, "张伟")
    yesterday = date.today() - timedelta(days=1)
    assert copies.holdings(v20, yesterday) == []  # handed out today
    assert copies.recall(v20, CODE, "V2.0", "0001").number == "001"
    assert copies.holdings(v20, yesterday) == []
    (today,) = copies.holdings(v20)
    assert today.copy.recalled_on == date.today().isoformat()


def test_a_master_whose_pages_do_not_state_their_status_gives_no_copy(tmp_path):
    from opsdoc.errors import UnusableDocument
    from opsdoc.generate.marks import marked
    from tests.support import SAMPLE_DOCX

    with zipfile.ZipFile(SAMPLE_DOCX) as package:
        members = {n: package.read(n) for n in package.namelist()}
    edited = tmp_path / "edited.docx"
    with zipfile.ZipFile(edited, "w") as package:  # a hand edit: "文件状态" where the template says 受控状态
        for name, data in members.items():
            package.writestr(name, data.replace("受控状态".encode(), "文件状态".encode()))
    with pytest.raises(UnusableDocument, match="无法在每页标明副本的受控状态"):
        marked(edited.read_bytes(), "受控（分发号 001）", required=True)
    assert marked(SAMPLE_DOCX.read_bytes(), "受控（分发号 001）", required=True)


def test_a_superseded_version_without_its_作废_copies_is_not_disposed_of(v20, tmp_path):
    _issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), v20)
    # as if the 作废 copies had not been made yet
    register_sql(v20, "UPDATE issued SET void_pdf_path = NULL, void_pdf_sha256 = NULL WHERE version = 'V2.0'")
    with pytest.raises(IssuedVersionExists, match="先运行 opsdoc register sync"):
        review.dispose(v20, CODE, "V2.0", Conventions(dispose_files="remove"), now=datetime(2029, 10, 16, 12))
