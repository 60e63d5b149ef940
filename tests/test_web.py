"""The web page as its users use it, and as an attacker would: login, roles, CSRF, uploads, the audit log.

Flask's test client drives the real application (the same create_app that `opsdoc serve` runs);
every form is posted with the CSRF token the page gave, as a browser would.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import openpyxl
import pytest

from opsdoc.web.accounts import AccountError, Accounts
from opsdoc.web.app import MAX_UPLOAD, Settings, create_app
from tests.support import SAMPLE, edit_sample, serving, uno_python

PASSWORD = "correct-horse-9"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def site(tmp_path):
    data = tmp_path / "web"
    accounts = Accounts(data)
    for name, role in (("周建峰", "manager"), ("李文控", "controller"), ("质检", "qa"), ("审计员", "auditor")):
        accounts.add(name, role, PASSWORD)
    app = create_app(Settings(data=data, archive=tmp_path / "归档"))
    return app, accounts


def _events(accounts: Accounts):
    """The audit log's events, newest first."""
    return [event for _, event in accounts.events()]


def _token(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1).decode()


def _signed_in(app, name: str):
    client = app.test_client()
    token = _token(client.get("/login").data)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.data.decode()
    return client


def _finished(client, answer, timeout: float = 300):
    """The page of the background job `answer` redirected to, once the job is done (the page stops refreshing)."""
    import time

    assert answer.status_code == 302 and "/jobs/" in answer.headers["Location"], answer.data.decode()[:300]
    location = answer.headers["Location"]
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(location)
        if b'id="job-running"' not in page.data or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def _upload(client, path: str, workbook: Path, **fields):
    token = _token(client.get(path).data)
    data = {"csrf_token": token, "workbook": (io.BytesIO(workbook.read_bytes()), workbook.name), **fields}
    return client.post(path, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("path", ["/", "/check", "/issue", "/register", "/audit", "/check/abc/annotated.xlsx"])
def test_no_page_and_no_file_without_login(site, path):
    app, _ = site
    answer = app.test_client().get(path)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_a_wrong_password_signs_nobody_in_and_is_logged(site):
    app, accounts = site
    client = app.test_client()
    token = _token(client.get("/login").data)
    answer = client.post("/login", data={"name": "周建峰", "password": "wrong-password", "csrf_token": token})
    assert answer.status_code == 401 and "用户名或密码错误" in answer.data.decode()
    assert client.get("/").status_code == 302
    assert (_events(accounts)[0].user, _events(accounts)[0].outcome) == ("周建峰", "拒绝：用户名或密码错误")


def test_a_form_posted_without_the_pages_token_is_refused(site):
    app, _ = site
    client = _signed_in(app, "周建峰")
    answer = client.post(
        "/check", data={"workbook": (io.BytesIO(SAMPLE.read_bytes()), "a.xlsx")}, content_type="multipart/form-data"
    )
    assert answer.status_code == 400 and "请求被拒绝" in answer.data.decode()


def test_a_manager_checks_a_workbook_by_sheet_and_downloads_the_annotated_copy(site, tmp_path):
    app, accounts = site
    client = _signed_in(app, "周建峰")
    workbook = edit_sample(tmp_path, {"文档信息!B4": "V2.1"}, name="我的项目.xlsx")  # cover ≠ history
    answer = _upload(client, "/check", workbook)
    page = answer.data.decode()
    assert answer.status_code == 200
    assert "我的项目.xlsx：1 个错误" in page and "cover-version-mismatch" in page
    assert "<h3>文档信息</h3>" in page and "文档信息!B4" in page
    link = re.search(r'id="annotated" href="([^"]+)"', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == XLSX
    assert "filename*=UTF-8''" + quote("我的项目_检查.xlsx") in download.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    assert book.sheetnames[0] == "检查结果"
    assert [e.action for e in _events(accounts)[:3]] == ["annotate", "check", "login"]
    # another user never gets this upload's copy: not even that it exists
    other = _signed_in(app, "质检")
    assert other.get(link).status_code == 404


def test_an_auditor_is_refused_an_issue_and_the_refusal_is_logged(site):
    app, accounts = site
    client = _signed_in(app, "审计员")
    assert client.get("/issue").status_code == 403
    token = _token(client.get("/register").data)
    answer = client.post("/issue", data={"csrf_token": token}, content_type="multipart/form-data")
    assert answer.status_code == 403 and "无权限" in answer.data.decode()
    assert _events(accounts)[0].outcome == "拒绝：角色无权限" and _events(accounts)[0].user == "审计员"
    assert client.get("/check").status_code == 403
    assert client.get("/register").status_code == 200 and client.get("/audit").status_code == 200


def test_uploads_are_bounded_and_read_like_the_clis_inputs(site, tmp_path):
    app, _ = site
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_UPLOAD == 20 * 2**20
    app.config["MAX_CONTENT_LENGTH"] = 4096  # the same refusal, without 20 MB in the test client's spool
    client = _signed_in(app, "周建峰")
    token = _token(client.get("/check").data)
    big = {"csrf_token": token, "workbook": (io.BytesIO(b"0" * 8192), "big.xlsx")}
    refused = client.post("/check", data=big, content_type="multipart/form-data")
    assert refused.status_code == 413 and "文件过大" in refused.data.decode()
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    not_a_workbook = tmp_path / "../../../../etc/passwd.xlsx"
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    answer = _upload(client, "/check", fake)
    assert answer.status_code == 400 and "无法完成" in answer.data.decode()
    assert not (tmp_path / "web" / "uploads" / not_a_workbook.name).exists()  # stored under a random name only
    assert all(re.fullmatch(r"[\w-]{22}\.xlsx", p.name) for p in (tmp_path / "web" / "uploads").iterdir())


def test_a_controller_issues_and_every_role_reads_the_register(site, tmp_path):
    uno_python()
    app, accounts = site
    controller = _signed_in(app, "李文控")
    answer = _finished(
        controller, _upload(controller, "/issue", edit_sample(tmp_path, name="V2.0.xlsx"), backdate="on")
    )
    page = answer.data.decode()
    assert "QT-YW-GF-BH01-001 V2.0：已发布并登记" in page, page
    for name in ("审计员", "质检", "周建峰"):
        register = _signed_in(app, name).get("/register").data.decode()
        assert (
            '<td class="short">V2.0</td>' in register and "现行" in register and '<td class="short">李文控' in register
        )
    assert [e.outcome for e in _events(accounts) if e.action == "issue"] == ["QT-YW-GF-BH01-001 V2.0：已发布并登记"]


def test_accounts_refuse_weak_passwords_taken_names_and_unknown_roles(tmp_path):
    accounts = Accounts(tmp_path)
    with pytest.raises(AccountError, match="至少 10 个字符"):
        accounts.add("甲", "manager", "short")
    accounts.add("甲", "manager", PASSWORD)
    with pytest.raises(AccountError, match="已存在"):
        accounts.add("甲", "qa", PASSWORD)
    with pytest.raises(AccountError, match="角色应为"):
        accounts.add("乙", "admin", PASSWORD)
    stored = (tmp_path / "opsdoc-web.sqlite").read_bytes()
    assert PASSWORD.encode() not in stored and b"scrypt:" in stored  # only a salted hash is kept
    assert accounts.verify("甲", PASSWORD).role.value == "manager" and accounts.verify("甲", "x" * 12) is None


def test_opsdoc_serve_answers_on_its_port_and_user_add_keeps_only_a_hash(tmp_path):
    """The commands as a 文控 runs them: an account from standard input, then the server, reached over HTTP."""
    import subprocess
    import sys
    import urllib.request

    data = tmp_path / "web"
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "opsdoc",
            "user",
            "add",
            "李文控",
            "--role",
            "controller",
            "--data",
            str(data),
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0 and "李文控：已添加（文控）" in added.stdout, added.stderr
    with serving(data, tmp_path / "归档") as url:
        page = urllib.request.urlopen(f"{url}/login", timeout=5).read().decode()
        assert "登录 opsdoc" in page and 'name="csrf_token"' in page


def _post(client, path: str, form_page: str, **fields):
    token = _token(client.get(form_page).data)
    return client.post(path, data={"csrf_token": token, **fields})


@pytest.fixture
def issued(site, tmp_path):
    """The sample's V2.0 in the site's archive (issued through the library, as the CLI would)."""
    from opsdoc.pipeline import IssueOptions, issue
    from tests.test_issue import fake_lay_out

    app, accounts = site
    result = issue(
        edit_sample(tmp_path, name="V2.0.xlsx"),
        IssueOptions(archive=tmp_path / "归档", backdate=True, by="李文控"),
        lay_out=fake_lay_out,
    )
    assert result.issued is not None
    return app, accounts


def test_a_manager_sees_the_修订说明_against_the_version_in_force_and_previews_the_document(issued, tmp_path):
    from tests.test_issue import V21

    app, _ = issued
    client = _signed_in(app, "周建峰")
    faster = {**V21, "服务级别协议!C2": 10, "合同指标!B2": "响应10分钟，到场30分钟，2小时内恢复"}
    page = _upload(client, "/check", edit_sample(tmp_path, faster, name="V2.1.xlsx")).data.decode()
    note = re.search(r'<ol id="note">(.*?)</ol>', page, re.S)
    assert "与现行版本 V2.0 相比的修订说明" in page and note and "10分钟" in note.group(1), page
    slower = edit_sample(tmp_path, {**V21, "服务级别协议!C2": 10}, name="V2.1-矛盾.xlsx")  # SLA ≠ contract: an error
    assert 'id="preview"' not in _upload(client, "/check", slower).data.decode()  # what has errors is not previewed
    wrong = _upload(client, "/check", edit_sample(tmp_path, {**V21, "文档信息!B4": "V2.2"}, name="V2.2.xlsx"))
    assert "工作簿还有错误，修正后才能比较出修订说明" in wrong.data.decode()  # not "nothing changed"
    uno_python()
    page = _upload(client, "/check", edit_sample(tmp_path, V21, name="V2.1-clean.xlsx")).data.decode()
    link = re.search(r'id="preview" method="post" action="([^"]+)"', page).group(1)
    assert client.get(link).status_code == 405  # a GET (a reloaded link) starts no work
    done = _finished(client, client.post(link, data={"csrf_token": _token(page.encode())})).data.decode()
    assert "正在生成" in done or "打开预览" in done
    pdf = client.get(re.search(r'id="job-file" href="([^"]+)"', done).group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    other = _signed_in(app, "质检")  # a job and its file are its owner's only
    assert other.post(link, data={"csrf_token": _token(other.get("/check").data)}).status_code == 404
    assert other.get(re.search(r'id="job-file" href="([^"]+)"', done).group(1)).status_code == 404


def test_a_controller_hands_out_a_copy_and_records_its_return_an_auditor_may_not(issued, tmp_path):
    uno_python()
    app, accounts = issued
    controller = _signed_in(app, "李文控")
    started = _post(
        controller,
        "/distribute",
        "/register",
        file_code="QT-YW-GF-BH01-001",
        version="V2.0",
        holder="张伟",
        department="运维服务部",
        count="2",
    )
    done = _finished(controller, started).data.decode()
    assert "下载副本 PDF（分发号 001，张伟）" in done
    copy = controller.get(re.search(r'id="job-file" href="([^"]+)"', done).group(1))
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    assert "分发号001" in unquote(copy.headers["Content-Disposition"])
    register = controller.get("/register").data.decode()
    assert "张伟" in register and "在用" in register
    back = _post(controller, "/recall", "/register", file_code="QT-YW-GF-BH01-001", version="V2.0", number="001")
    assert back.status_code == 302 and "已回收" in controller.get("/register").data.decode()
    auditor = _signed_in(app, "审计员")
    refused = _post(auditor, "/distribute", "/register", file_code="QT-YW-GF-BH01-001", version="V2.0", holder="某人")
    assert refused.status_code == 403
    export = auditor.get("/register/受控文件清单.xlsx")
    assert export.status_code == 200 and openpyxl.load_workbook(io.BytesIO(export.data)).sheetnames == [
        "受控文件清单",
        "分发回收记录",
        "评审与保存",
    ]
    assert [e.action for e in _events(accounts) if e.user == "李文控"][:2] == ["recall", "distribute"]


def test_qa_compares_two_versions_and_verifies_a_document(site, tmp_path):
    from tests.support import SAMPLE_DOCX
    from tests.test_issue import V21

    app, _ = site
    client = _signed_in(app, "质检")
    token = _token(client.get("/compare").data)
    newer = edit_sample(tmp_path, {**V21, "服务级别协议!C2": 10}, name="V2.1.xlsx")
    answer = client.post(
        "/compare",
        data={
            "csrf_token": token,
            "old": (io.BytesIO(SAMPLE_DOCX.read_bytes()), "V2.0.docx"),
            "new": (io.BytesIO(newer.read_bytes()), "V2.1.xlsx"),
        },
        content_type="multipart/form-data",
    )
    page = answer.data.decode()
    assert answer.status_code == 200 and "V2.0.docx → V2.1.xlsx" in page and "10分钟" in page
    token = _token(client.get("/verify").data)
    checked = client.post(
        "/verify",
        data={"csrf_token": token, "document": (io.BytesIO(SAMPLE_DOCX.read_bytes()), "V2.0.docx")},
        content_type="multipart/form-data",
    )
    assert "V2.0.docx：0 个错误" in checked.data.decode()
    wrong = client.post(
        "/verify",
        data={"csrf_token": _token(client.get("/verify").data), "document": (io.BytesIO(b"x"), "V2.0.xlsx")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and "请上传 .docx 文件" in wrong.data.decode()


def test_logout_ends_the_session_for_good_and_a_new_password_or_removal_ends_every_session(site, tmp_path):
    app, accounts = site
    client = _signed_in(app, "周建峰")
    cookie = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": _token(client.get("/").data)})
    copied = app.test_client()
    copied.set_cookie("session", cookie)
    assert copied.get("/").status_code == 302  # a copy of the cookie taken before logout no longer signs in
    other = _signed_in(app, "质检")
    accounts.set_password("质检", "another-horse-10")
    assert other.get("/").status_code == 302
    third = _signed_in(app, "审计员")
    accounts.remove("审计员")
    assert third.get("/register").status_code == 302


def test_guessing_passwords_is_slowed_and_what_a_visitor_types_is_bounded(site):
    app, accounts = site
    client = app.test_client()
    token = _token(client.get("/login").data)
    for _ in range(5):
        client.post("/login", data={"name": "李文控", "password": "wrong-password", "csrf_token": token})
    blocked = client.post("/login", data={"name": "李文控", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429 and "失败次数过多" in blocked.data.decode()  # even the right password waits
    client.post("/login", data={"name": "X" * 100_000, "password": "x", "csrf_token": token})
    assert max(len(e.user) for e in _events(accounts)) <= 40
    assert all(e.address == "127.0.0.1" for e in _events(accounts))


def test_pages_tell_browsers_not_to_frame_sniff_or_keep_them(site):
    app, _ = site
    client = _signed_in(app, "审计员")
    headers = client.get("/register").headers
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert client.get("/logout").status_code == 405 and "请求方式不对" in client.get("/logout").data.decode()


def test_uploads_are_the_servers_only_and_a_refused_one_is_not_kept(site, tmp_path):
    app, _ = site
    client = _signed_in(app, "周建峰")
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    _upload(client, "/check", fake)
    _upload(client, "/check", edit_sample(tmp_path, name="a.xlsx"))
    uploads = tmp_path / "web" / "uploads"
    kept = list(uploads.iterdir())
    assert len(kept) == 1 and oct(kept[0].stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "web").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "web" / "opsdoc-web.sqlite").stat().st_mode & 0o777) == "0o600"


def test_审核_and_批准_are_signed_by_the_people_the_workbook_names_and_recorded_with_the_issue(site, tmp_path):
    """The sample's last history row names 吴海燕 (审核) and 陈立群 (批准): only they sign, in that order, and the
    文控 issues exactly the workbook they signed; the register records their signatures."""
    uno_python()
    app, accounts = site
    accounts.add("吴海燕", "manager", PASSWORD)
    accounts.add("陈立群", "qa", PASSWORD)
    manager = _signed_in(app, "周建峰")
    sent = _upload(manager, "/signoffs", edit_sample(tmp_path, name="V2.0.xlsx"))
    page = sent.data.decode()
    assert "已送审：待 吴海燕 审核，再由 陈立群 批准" in page and "待审核" in page
    signoff_id = re.search(
        r"/signoffs/([\w-]+)/review", _signed_in(app, "吴海燕").get("/signoffs").data.decode()
    ).group(1)

    def act(name: str, action: str, **form):
        client = _signed_in(app, name)
        return client, client.post(
            f"/signoffs/{signoff_id}/{action}", data={"csrf_token": _token(client.get("/signoffs").data), **form}
        )

    assert act("陈立群", "approve")[1].status_code == 302  # before the review: the step is refused, said so
    assert accounts.signoff(signoff_id).state == "待审核"
    assert act("周建峰", "review")[1].status_code == 403  # not the 审核人
    assert act("审计员", "review")[1].status_code == 403
    assert act("吴海燕", "review")[1].status_code == 302 and accounts.signoff(signoff_id).state == "待批准"
    assert act("陈立群", "approve")[1].status_code == 302 and accounts.signoff(signoff_id).state == "已批准"
    controller, started = act("李文控", "issue", backdate="on")
    done = _finished(controller, started).data.decode()
    assert "QT-YW-GF-BH01-001 V2.0：已发布并登记" in done, done
    assert accounts.signoff(signoff_id).state == "已发布"
    from opsdoc import api

    (entry,) = api.register_entries(tmp_path / "归档")
    assert "网页签署：审核 吴海燕" in entry.acknowledged and "批准 陈立群" in entry.acknowledged
    assert entry.issued_by == "李文控"


def test_a_workbook_with_findings_is_not_sent_for_signatures(site, tmp_path):
    app, accounts = site
    manager = _signed_in(app, "周建峰")
    page = _upload(manager, "/signoffs", edit_sample(tmp_path, {"文档信息!B4": "V2.1"}, name="w.xlsx")).data.decode()
    assert "cover-version-mismatch" in page and accounts.signoffs() == []
    qa = _signed_in(app, "质检")
    assert _upload(qa, "/signoffs", edit_sample(tmp_path, name="v.xlsx")).status_code == 403


def test_the_release_package_is_read_from_the_register_and_a_review_recorded(issued):
    app, _ = issued
    auditor = _signed_in(app, "审计员")
    page = auditor.get("/register").data.decode()
    link = re.search(r'href="(/register/[^"]+/notes)"', page).group(1)
    notes = auditor.get(link)
    assert notes.status_code == 200 and "（首次发布）" in notes.data.decode("utf-8")
    assert _signed_in(app, "周建峰").get(link).status_code == 403
    assert auditor.get(link.replace("/notes", "/docx")).status_code == 404  # only the package and the 作废 copy
    controller = _signed_in(app, "李文控")
    answer = _post(controller, "/register/review", "/register", file_code="QT-YW-GF-BH01-001", version="V2.0")
    assert answer.status_code == 302 and "已登记定期评审（继续适用）" in controller.get("/register").data.decode()
    refused = _post(auditor, "/register/review", "/register", file_code="QT-YW-GF-BH01-001", version="V2.0")
    assert refused.status_code == 403


def test_a_batch_builds_each_workbook_in_the_background_and_zips_what_was_made(site, tmp_path):
    uno_python()
    app, accounts = site
    client = _signed_in(app, "周建峰")
    good = SAMPLE
    wrong = edit_sample(tmp_path, {"文档信息!B4": "V2.1"}, name="封面不一致.xlsx")
    garbage = tmp_path / "不是工作簿.xlsx"
    garbage.write_bytes(b"PK not really")
    token = _token(client.get("/batch").data)
    sent = [(io.BytesIO(p.read_bytes()), p.name) for p in (good, wrong, garbage)]
    answer = client.post(
        "/batch", data={"csrf_token": token, "workbooks": sent, "pdf": "on"}, content_type="multipart/form-data"
    )
    page = _finished(client, answer).data.decode()
    assert "共 3 个工作簿：生成 1 个" in page, page[-2000:]
    assert "未生成：1 个错误" in page and "cover-version-mismatch" in page and "无法读取" in page
    link = re.search(r'id="batch-zip" href="([^"]+)"', page).group(1)
    with zipfile.ZipFile(io.BytesIO(client.get(link).data)) as package:
        names = sorted(package.namelist())
        summary = package.read("批量生成结果.txt").decode()
    stem = SAMPLE.stem
    assert [n.rsplit(".", 1)[-1] for n in names if n.startswith(f"01_{stem}/")] == ["docx", "pdf"]
    assert f"{SAMPLE.name}：已生成" in summary and "封面不一致.xlsx：未生成：1 个错误" in summary
    assert _events(accounts)[0].action == "batch" and _events(accounts)[0].outcome == "生成 1 个，未生成 2 个"
    assert [p for p in (tmp_path / "web" / "uploads").iterdir() if p.suffix == ".xlsx"] == []  # nothing kept
    # the job's page and its zip are the manager's only
    assert _signed_in(app, "李文控").get(link).status_code == 404


def test_a_batch_of_long_and_odd_names_zips_into_folders_every_unzip_can_make(site, tmp_path):
    """The page keeps 110 characters of an upload's name: in Chinese that is 330 bytes, more than a folder
    name may have on ext4 or NTFS. Each folder is named as opsdoc names its files."""
    app, _ = site
    client = _signed_in(app, "周建峰")
    long_name = "滨海市第一人民医院" * 13 + ".xlsx"  # 117 characters before the suffix
    odd_name = "CON.项目\u202e.xlsx"  # a Windows device name, and a right-to-left override
    token = _token(client.get("/batch").data)
    sent = [(io.BytesIO(SAMPLE.read_bytes()), name) for name in (long_name, odd_name)]
    answer = client.post("/batch", data={"csrf_token": token, "workbooks": sent}, content_type="multipart/form-data")
    page = _finished(client, answer).data.decode()
    link = re.search(r'id="batch-zip" href="([^"]+)"', page).group(1)
    with zipfile.ZipFile(io.BytesIO(client.get(link).data)) as package:
        folders = sorted({name.split("/")[0] for name in package.namelist() if "/" in name})
    assert len(folders) == 2 and folders[0].startswith("01_滨海市") and folders[1].startswith("02_CON.项目")
    assert all(len(folder.encode("utf-8")) <= 255 and "\u202e" not in folder for folder in folders), folders


def test_a_batch_is_for_managers_and_controllers_of_workbooks_only(site, tmp_path):
    app, _ = site
    assert _signed_in(app, "质检").get("/batch").status_code == 403
    client = _signed_in(app, "李文控")
    token = _token(client.get("/batch").data)
    for files, said in (
        ([(io.BytesIO(b"x"), "a.docx")], "请上传 .xlsx 文件"),
        ([(io.BytesIO(b"x"), f"{k}.xlsx") for k in range(51)], "一次最多 50 个工作簿"),
    ):
        answer = client.post(
            "/batch", data={"csrf_token": token, "workbooks": files}, content_type="multipart/form-data"
        )
        assert answer.status_code == 400 and said in answer.data.decode()
    assert not (tmp_path / "web" / "uploads").exists() or list((tmp_path / "web" / "uploads").iterdir()) == []


def test_a_demo_never_issues_into_a_real_register(tmp_path, monkeypatch):
    from opsdoc.errors import OpsdocError
    from opsdoc.web import prepare_demo

    monkeypatch.setenv("OPSDOC_REGISTER_URL", "postgresql://opsdoc@db.example.com/受控登记册")
    with pytest.raises(OpsdocError, match="演示不使用服务器数据库上的登记册"):
        prepare_demo(tmp_path / "web", tmp_path / "归档", SAMPLE, print)
    monkeypatch.delenv("OPSDOC_REGISTER_URL")
    (tmp_path / "归档" / "QT-YW-GF-BH01-001").mkdir(parents=True)
    with pytest.raises(OpsdocError, match="归档文件夹不是空的"):
        prepare_demo(tmp_path / "web", tmp_path / "归档", SAMPLE, print)
    assert not (tmp_path / "web" / "opsdoc-web.sqlite").exists()  # no account made either


SIGNON_EXTENSION = '''
from flask import Blueprint, request

from opsdoc.web.signon import SignOn


def make(sign_in):
    """A stand-in for an OIDC extension: the provider's callback, reduced to the name it vouches for."""
    routes = Blueprint("company", __name__)

    @routes.get("/login")
    def login():
        return sign_in(request.args["user"], "公司统一身份认证")

    return SignOn("公司统一身份认证", routes)
'''


def test_a_sign_on_extension_signs_in_opsdoc_accounts_with_their_roles_and_no_one_else(tmp_path, monkeypatch):
    """The extension point, as an installed package finds it: an entry point in opsdoc.web.signon."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "company_signon.py").write_text(SIGNON_EXTENSION, encoding="utf-8")
    info = tmp_path / "site" / "company_signon-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: company-signon\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[opsdoc.web.signon]\ncompany = company_signon:make\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    data = tmp_path / "web"
    accounts = Accounts(data)
    accounts.add("李文控", "controller", PASSWORD)
    app = create_app(Settings(data=data, archive=tmp_path / "归档"))
    client = app.test_client()
    link = re.search(r'class="signon" href="([^"]+)">使用公司统一身份认证登录', client.get("/login").data.decode())
    assert link and link.group(1) == "/signon/company/login"
    stranger = client.get("/signon/company/login?user=外包人员")
    assert stranger.status_code == 403 and "opsdoc 没有这个账号" in stranger.data.decode()
    assert client.get("/issue").status_code == 302  # still not signed in
    signed = client.get("/signon/company/login?user=李文控")
    assert signed.status_code == 302 and signed.headers["Location"] == "/"
    assert client.get("/issue").status_code == 200  # the account's own role: 文控
    assert [(e.user, e.target, e.outcome) for e in _events(accounts)[:2]] == [
        ("李文控", "公司统一身份认证", "成功（单点登录）"),
        ("外包人员", "公司统一身份认证", "拒绝：没有该 opsdoc 账号"),
    ]


def test_serve_demo_starts_a_site_to_try_with_an_account_per_role_and_the_sample_issued(tmp_path):
    """The README's one command: `opsdoc serve --demo samples/….xlsx`, started twice."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from opsdoc import api

    uno_python()
    data = tmp_path / "opsdoc-web"
    said = []
    for _start in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "opsdoc",
            "serve",
            "--demo",
            str(SAMPLE),
            "--port",
            str(port),
            "--data",
            str(data),
        ]
        server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        try:
            lines = []
            while not (line := server.stderr.readline()).startswith("opsdoc 网页："):
                assert line, "".join(lines)
                lines.append(line)
            for _ in range(100):  # the line is said as waitress starts listening
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as answer:
                        page = answer.read().decode()
                    break
                except OSError:
                    time.sleep(0.1)
            assert "登录 opsdoc" in page
        finally:
            server.terminate()
            server.wait(timeout=30)
            server.stderr.close()
        said.append([line.strip() for line in lines if line.startswith("演示账号：")])
    assert len(said[0]) == 4 and said[0] == said[1]  # the same accounts on the next start, nothing redone
    passwords = {line.split()[1]: line.split()[-1] for line in said[0]}
    assert set(passwords) == {"周建峰", "李文控", "质检", "审计员"}
    entries = api.register_entries(data / "归档")
    assert [(e.version, e.status, e.issued_by) for e in entries] == [("V2.0", "现行", "李文控")]
    app = create_app(Settings(data=data, archive=data / "归档"))
    client = app.test_client()
    token = _token(client.get("/login").data)
    answer = client.post("/login", data={"name": "质检", "password": passwords["质检"], "csrf_token": token})
    assert answer.status_code == 302 and "V2.0" in client.get("/register").data.decode()
    assert oct((data / "演示账号.txt").stat().st_mode & 0o777) == "0o600"
