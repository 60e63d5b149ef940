"""opsdoc issue and the register: release all or nothing, 作废, tamper evidence, concurrent issues."""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsdoc.cli import main
from opsdoc.control.issue import Outcome
from opsdoc.control.register import REGISTER_NAME, UnusableRegister, entries, open_register
from opsdoc.errors import IssuedVersionExists, PdfExportError
from opsdoc.pipeline import IssueOptions, issue
from tests.support import CSV_UTF8, convert_with_libreoffice, edit_sample, uno_python

V21 = {
    "文档信息!B4": "V2.1",
    "文档信息!B9": datetime(2026, 10, 15),
    "修订记录!A6": "V2.1",
    "修订记录!B6": datetime(2026, 10, 8),
    "修订记录!C6": "周建峰",
    "修订记录!D6": datetime(2026, 10, 10),
    "修订记录!E6": "吴海燕",
    "修订记录!F6": datetime(2026, 10, 12),
    "修订记录!G6": "陈立群",
    "修订记录!H6": "WJGG-2026-061",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_lay_out(data: bytes, progress, keywords) -> tuple[bytes, bytes]:
    """A stand-in for LibreOffice: the .docx unchanged and a one-page PDF naming the version."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/Resources 5 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
        b"<</Length 0>>\nstream\n\nendstream",
        b"<</ProcSet[/PDF]>>",
    ]
    out = bytearray(b"%PDF-1.4\n% " + " ".join(keywords).encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size 6/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    return data, bytes(out)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """V2.0, then V2.1 of the sample issued into one archive through LibreOffice (two real exports)."""
    uno_python()
    work = tmp_path_factory.mktemp("issue")
    folder = work / "归档"
    runner = CliRunner()
    from tests.support import SAMPLE

    for workbook in (SAMPLE, edit_sample(work, V21, name="V2.1.xlsx")):
        result = runner.invoke(
            main, ["issue", str(workbook), "--archive", str(folder), "--by", "文控 王芳", "--backdate"]
        )
        assert result.exit_code == 0, result.output
    return folder


def rows(folder: Path):
    with open_register(folder) as connection:
        return entries(connection)


def test_v21_supersedes_v20_with_a_stamped_copy(archive):
    newest, older = rows(archive)
    assert (newest.version, newest.status, older.version, older.status) == ("V2.1", "现行", "V2.0", "作废")
    assert newest.issued_by == "文控 王芳" and older.superseded_by == "V2.1"
    for entry in (newest, older):
        for relative, digest in entry.files():
            assert sha(archive / relative) == digest
    void = archive / (older.void_pdf_path or "")
    assert void.name.endswith("_作废.pdf") and void.parent == (archive / older.pdf_path).parent
    original = (archive / older.pdf_path).read_bytes()
    assert void.read_bytes().startswith(original) and len(void.read_bytes()) > len(original)
    text = subprocess.run(["pdftotext", str(void), "-"], capture_output=True, text=True).stdout
    pages = subprocess.run(["pdfinfo", str(void)], capture_output=True, text=True).stdout
    assert text.count("作废") >= int(next(p.split()[1] for p in pages.splitlines() if p.startswith("Pages:")))


def test_issued_pdf_is_pdfa2b_with_title_code_and_version(archive):
    entry = rows(archive)[0]
    pdf = str(archive / entry.pdf_path)
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
    meta = subprocess.run(["pdfinfo", "-meta", pdf], capture_output=True, text=True).stdout
    assert "<pdfaid:part>2</pdfaid:part>" in meta and "<pdfaid:conformance>B</pdfaid:conformance>" in meta
    assert "滨海市第一人民医院信息系统运维服务项目运维工作管理规范" in meta
    assert "Keywords:        QT-YW-GF-BH01-001, V2.1" in info


def test_reissue_unchanged_is_a_no_op_and_changed_is_refused(archive, tmp_path):
    entry = rows(archive)[0]
    issued = (archive / entry.docx_path).read_bytes(), (archive / entry.pdf_path).read_bytes()
    same = issue(
        edit_sample(tmp_path, V21),
        IssueOptions(archive=archive, backdate=True),
        lay_out=lambda data, progress, keywords: issued,
    )
    assert same.issued is not None and same.issued.outcome is Outcome.UNCHANGED
    changed = edit_sample(tmp_path, {**V21, "修订记录!H6": "WJGG-2026-062"}, name="changed.xlsx")
    result = CliRunner().invoke(main, ["issue", str(changed), "--archive", str(archive), "--backdate"])
    assert result.exit_code == 3, result.output
    assert len(rows(archive)) == 2


def test_register_verify_names_an_altered_file(archive, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["register", "verify", "--archive", str(archive)]).exit_code == 0
    target = archive / rows(archive)[1].docx_path
    original = target.read_bytes()
    try:
        target.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        (archive / "拷贝.docx").write_bytes(b"x")
        result = runner.invoke(main, ["register", "verify", "--archive", str(archive)])
        assert result.exit_code == 1
        assert f"[archive-altered-file] {rows(archive)[1].docx_path}" in result.output or (
            "archive-altered-file" in result.output and target.name in result.output
        )
        assert "archive-unregistered-file" in result.output and "拷贝.docx" in result.output
    finally:
        target.write_bytes(original)
        (archive / "拷贝.docx").unlink()


def test_exported_register_opens_in_libreoffice(archive, tmp_path):
    output = tmp_path / "受控文件清单.xlsx"
    result = CliRunner().invoke(main, ["register", "export", "--archive", str(archive), "-o", str(output)])
    assert result.exit_code == 0, result.output
    converted = convert_with_libreoffice(output, CSV_UTF8, tmp_path)  # the first sheet: the versions
    rows = list(csv.reader(io.StringIO(converted.read_text(encoding="utf-8"))))
    assert rows[0][0] == "海澜信息技术有限公司运维服务部 受控文件清单"  # the 编制单位 the documents name
    assert rows[1][0].startswith(f"截至 {date.today().isoformat()}　制表人：")
    assert rows[2] == [
        "序号",
        "文件编码",
        "文件名称",
        "版本号",
        "密级",
        "编制",
        "审核",
        "批准",
        "发布日期",
        "实施日期",
        "状态",
        "修订说明",
        "备注",
    ]
    newest, older = ({h: v for h, v in zip(rows[2], row, strict=True)} for row in rows[3:5])
    assert (newest["版本号"], newest["状态"], older["版本号"], older["状态"]) == ("V2.1", "现行", "V2.0", "作废")
    assert newest["批准"] == "陈立群\n2026-10-12"  # the name over the date
    # the cover's 发布日期 (the last approval), not the day the version was filed
    assert (newest["发布日期"], newest["实施日期"]) == ("2026-10-12", "2026-10-15")
    assert (older["发布日期"], older["实施日期"]) == ("2026-09-07", "2026-09-15")


def test_a_failure_mid_issue_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "归档"
    first = issue(edit_sample(tmp_path), IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    assert first.issued is not None and first.issued.outcome is Outcome.ISSUED
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    register_bytes = (folder / REGISTER_NAME).read_bytes()

    def crash(data, progress, keywords):
        raise PdfExportError(None, "LibreOffice 转换失败：崩溃")

    with pytest.raises(PdfExportError):
        issue(edit_sample(tmp_path, V21, name="V2.1.xlsx"), IssueOptions(archive=folder, backdate=True), lay_out=crash)
    import opsdoc.control.register as register

    original_insert = register.insert_entry

    def interrupted(connection, entry):
        raise KeyboardInterrupt

    register.insert_entry = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            issue(
                edit_sample(tmp_path, V21, name="V2.1.xlsx"),
                IssueOptions(archive=folder, backdate=True),
                lay_out=fake_lay_out,
            )
    finally:
        register.insert_entry = original_insert
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    assert (folder / REGISTER_NAME).read_bytes() == register_bytes
    assert [(e.version, e.status) for e in rows(folder)] == [("V2.0", "现行")]


def test_a_file_that_is_not_a_register_is_refused_untouched(tmp_path):
    (tmp_path / REGISTER_NAME).write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other"
    other.mkdir()
    sqlite3.connect(other / REGISTER_NAME).execute("CREATE TABLE t (x)").connection.commit()
    for folder in (tmp_path, other):
        before = (folder / REGISTER_NAME).read_bytes()
        result = CliRunner().invoke(main, ["issue", str(edit_sample(tmp_path)), "--archive", str(folder), "--backdate"])
        listed = CliRunner().invoke(main, ["register", "list", "--archive", str(folder)])
        assert (result.exit_code, listed.exit_code) == (2, 2) and "登记册" in listed.output
        assert (folder / REGISTER_NAME).read_bytes() == before


def _issue_project(job: tuple[Path, Path, int]) -> str:
    workbook, folder, _ = job
    result = issue(workbook, IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    assert result.issued is not None
    return result.issued.outcome.value


def test_eight_concurrent_issues_leave_eight_rows(tmp_path):
    folder = tmp_path / "归档"
    jobs = [
        (
            edit_sample(
                tmp_path, {"文档信息!B1": f"项目{k}", "文档信息!B3": f"QT-YW-GF-BH0{k}-001"}, name=f"项目{k}.xlsx"
            ),
            folder,
            k,
        )
        for k in range(8)
    ]
    jobs.append(jobs[0])  # the same project twice at once: one issues, the other finds it registered
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        outcomes = pool.map(_issue_project, jobs)
    assert sorted(outcomes) == ["issued"] * 8 + ["unchanged"]
    found = rows(folder)
    assert len(found) == 8 and {e.status for e in found} == {"现行"}
    assert CliRunner().invoke(main, ["register", "verify", "--archive", str(folder)]).exit_code == 0


def test_a_version_approved_after_today_is_not_issued(tmp_path):
    workbook = edit_sample(tmp_path, {"修订记录!F5": datetime(2099, 1, 4), "文档信息!B9": datetime(2099, 1, 5)})
    result = issue(workbook, IssueOptions(archive=tmp_path / "归档", backdate=True), lay_out=fake_lay_out)
    assert result.issued is None
    late = [f for f in result.report.findings if f.code == "approved-after-issue"]
    assert [str(f.location) for f in late] == ["修订记录!F5"] and "2099-01-04" in late[0].message
    assert not (tmp_path / "归档").exists() or not any((tmp_path / "归档").iterdir())


def test_reissuing_a_void_version_is_refused_and_says_so(tmp_path):
    folder = tmp_path / "归档"
    v20 = edit_sample(tmp_path)
    issue(v20, IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    issue(
        edit_sample(tmp_path, V21, name="V2.1.xlsx"), IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out
    )
    with pytest.raises(IssuedVersionExists, match=r"V2\.0 已作废.*被 V2\.1 替代") as refused:
        issue(v20, IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    assert refused.value.exit_code == 3
    assert [(e.version, e.status) for e in rows(folder)] == [("V2.1", "现行"), ("V2.0", "作废")]


def test_reissuing_over_an_altered_archived_file_is_refused(tmp_path):
    folder = tmp_path / "归档"
    workbook = edit_sample(tmp_path)
    issue(workbook, IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    (entry,) = rows(folder)
    (folder / entry.docx_path).write_bytes(b"PK altered")
    with pytest.raises(UnusableRegister, match="被改动过") as refused:
        issue(workbook, IssueOptions(archive=folder, backdate=True), lay_out=fake_lay_out)
    assert refused.value.path == folder / entry.docx_path and refused.value.exit_code == 2
