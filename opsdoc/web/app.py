"""The web page: the library's public face (opsdoc.api) behind a login, for people who use a mouse.

Flask serves the pages, Flask-Login keeps who is signed in, Flask-WTF guards every form against
cross-site requests; all three are the maintained libraries Flask users rely on. Each page asks
for a role; a page or a file is never served to anyone not signed in, and an action outside the
user's role is refused and written to the audit log like every other action. Uploads are bounded
in size, stored under a random name in the data folder (never under the name the browser sent),
and read by the same code as the CLI's inputs.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from opsdoc import api
from opsdoc.web.accounts import Accounts, Role, User
from opsdoc.web.jobs import Job, Jobs

MAX_UPLOAD = 20 * 1024 * 1024  # bytes: a workbook of 25,000 rows is under 5 MB
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Settings:
    data: Path  # accounts, audit log, uploads, the session key
    archive: Path  # the register's archive folder
    config: Path | None = None  # opsdoc.toml for checks and issues
    extra: dict[str, Any] = field(default_factory=dict)  # Flask settings (tests)


class _Login(UserMixin):  # type: ignore[misc]
    def __init__(self, user: User):
        self.user = user
        self.id = user.name


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings.data),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a form stays valid for the session
        **settings.extra,
    )
    CSRFProtect(app)
    accounts = Accounts(settings.data)
    jobs = Jobs()
    uploads = settings.data / "uploads"
    logins = LoginManager(app)
    logins.login_view = "login"
    logins.login_message = "请先登录"

    @logins.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def load(name: str) -> _Login | None:
        user = accounts.get(name)
        return _Login(user) if user else None

    def allowed(*roles: Role) -> Callable[[F], F]:
        """The view for these roles only; anyone else gets 403, and the refusal is in the audit log."""

        def decorate(view: F) -> F:
            @wraps(view)
            @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
            def guarded(*args: Any, **kwargs: Any) -> Any:
                user: User = current_user.user
                if user.role not in roles:
                    accounts.record(user.name, request.endpoint or "", request.path, "拒绝：角色无权限")
                    abort(403)
                return view(*args, **kwargs)

            return guarded  # type: ignore[return-value]

        return decorate

    @app.context_processor
    def signed_in() -> dict[str, Any]:
        return {"user": current_user.user if current_user.is_authenticated else None}

    @app.errorhandler(CSRFError)
    def stale(_error: HTTPException) -> tuple[str, int]:
        message = "页面已过期，或请求不是从本站页面发出的：请刷新页面后重试"
        return render_template("message.html", title="请求被拒绝", message=message), 400

    @app.errorhandler(400)
    def bad_request(error: HTTPException) -> tuple[str, int]:
        return render_template("message.html", title="请求有误", message=error.description or "请求有误"), 400

    @app.errorhandler(404)
    def missing(_error: HTTPException) -> tuple[str, int]:
        return render_template("message.html", title="没有这个页面", message="页面或文件不存在，或不属于您"), 404

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: HTTPException) -> tuple[str, int]:
        return render_template(
            "message.html", title="文件过大", message=f"上传的文件超过 {MAX_UPLOAD // 2**20} MB"
        ), 413

    @app.errorhandler(403)
    def forbidden(_error: HTTPException) -> tuple[str, int]:
        return render_template("message.html", title="无权限", message="您的角色不能进行这项操作"), 403

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        if request.method == "POST":
            name = request.form.get("name", "").strip()
            user = accounts.verify(name, request.form.get("password", ""))
            if user is None:
                accounts.record(name or "（空）", "login", "", "拒绝：用户名或密码错误")
                flash("用户名或密码错误")
                return render_template("login.html"), 401  # type: ignore[return-value]
            session.clear()
            login_user(_Login(user))
            accounts.record(user.name, "login", "", "成功")
            return redirect(url_for("home"))
        return render_template("login.html")

    @app.post("/logout")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def logout() -> Response:
        accounts.record(current_user.user.name, "logout", "", "成功")
        logout_user()
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def home() -> str:
        return render_template("home.html")

    @app.route("/check", methods=["GET", "POST"])
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def check() -> str | tuple[str, int]:
        if request.method == "GET":
            return render_template("check.html")
        token, name = _keep_upload(uploads, "workbook")
        checked = api.check(uploads / f"{token}.xlsx", api.CheckOptions(config=settings.config))
        session.setdefault("uploads", {})[token] = name
        session.modified = True
        report = checked.report
        accounts.record(
            current_user.user.name, "check", name, f"{len(report.errors)} 个错误，{len(report.warnings)} 个警告"
        )
        in_force, note = _note_against_current(uploads / f"{token}.xlsx", checked, settings)
        return render_template(
            "check.html",
            name=name,
            token=token,
            groups=_by_sheet(report),
            report=report,
            previewable=report.passes(),
            in_force=in_force,
            note=note,
        )

    @app.get("/check/<token>/preview.pdf")
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def preview(token: str) -> Response:
        name = session.get("uploads", {}).get(token)
        if name is None:
            abort(404)
        workbook, user = _stored(uploads, token), current_user.user.name

        def work(job: Job) -> dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as folder:
                # the server's LibreOffice stays warm between previews (opsdoc.generate.pdf keeps one per process)
                options = api.BuildOptions(pdf=True, config=settings.config)
                result = api.build(workbook, Path(folder), options, progress=job.say)
                pdf = result.written(api.FileKind.PDF)
                if pdf is None:
                    raise api.OpsdocError(None, "工作簿还有错误，无法预览：请先按检查结果修改")
                data = pdf.path.read_bytes()
            accounts.record(user, "preview", name, "已生成 PDF")
            return {
                "data": data,
                "download_name": f"{Path(name).stem}.pdf",
                "mimetype": "application/pdf",
                "attachment": False,
                "label": "打开预览（PDF）",
            }

        return redirect(url_for("job", job_id=jobs.start(user, f"预览 {name}", work).id))

    @app.get("/check/<token>/annotated.xlsx")
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def annotated(token: str) -> Response:
        name = session.get("uploads", {}).get(token)
        if name is None:  # not this user's upload (or not one at all): the same answer
            abort(404)
        checked = api.check(uploads / f"{token}.xlsx", api.CheckOptions(config=settings.config))
        with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as work:
            written = api.annotate(checked, Path(work) / "annotated.xlsx")
            data = written.path.read_bytes()
        accounts.record(current_user.user.name, "annotate", name, "已下载")
        return send_file(
            _bytes(data),
            download_name=f"{Path(name).stem}_检查.xlsx",
            as_attachment=True,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @app.route("/issue", methods=["GET", "POST"])
    @allowed(Role.CONTROLLER)
    def issue() -> str | Response:
        if request.method == "GET":
            return render_template("issue.html")
        token, name = _keep_upload(uploads, "workbook")
        options = api.IssueOptions(
            archive=settings.archive,
            config=settings.config,
            by=current_user.user.name,  # the register records who issued it, as signed in
            backdate=request.form.get("backdate") == "on",
        )
        user = current_user.user.name

        def work(job: Job) -> dict[str, Any]:
            result = api.issue(uploads / f"{token}.xlsx", options, progress=job.say)
            issued = result.issued
            entry = issued.entry if issued else None
            outcome = f"{entry.file_code} {entry.version}：{issued.outcome.label}" if issued and entry else "未发布"
            accounts.record(user, "issue", name, outcome)
            refused = issued.report if issued and issued.report and not issued.report.passes() else result.report
            return {
                "page": "issue.html",
                "name": name,
                "outcome": outcome,
                "issued": issued,
                "groups": _by_sheet(refused),
            }

        return redirect(url_for("job", job_id=jobs.start(user, f"发布 {name}", work).id))

    @app.get("/jobs/<job_id>")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def job(job_id: str) -> str:
        found = jobs.of(current_user.user.name, job_id)
        if found is None:  # not this user's (or not one at all): the same answer
            abort(404)
        if found.done and found.error is not None:
            return render_template("message.html", title="无法完成", message=found.error)
        if found.done and found.result and "page" in found.result:
            return render_template(found.result["page"], **{k: v for k, v in found.result.items() if k != "page"})
        return render_template("job.html", job=found)

    @app.get("/jobs/<job_id>/file")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def job_file(job_id: str) -> Response:
        found = jobs.of(current_user.user.name, job_id)
        if found is None or not found.done or not found.result or "data" not in found.result:
            abort(404)
        result = found.result
        return send_file(
            _bytes(result["data"]),
            download_name=result["download_name"],
            as_attachment=result.get("attachment", True),
            mimetype=result["mimetype"],
        )

    @app.get("/register")
    @allowed(Role.CONTROLLER, Role.QA, Role.AUDITOR, Role.MANAGER)
    def register() -> str:
        try:
            entries = api.register_entries(settings.archive)
        except api.OpsdocError as exc:  # no register yet, or one that cannot be read: said, not a traceback
            entries, problem = [], exc.message
        else:
            problem = ""
        copies = api.copies(settings.archive) if entries else []
        return render_template("register.html", entries=entries, problem=problem, copies=copies)

    @app.get("/register/受控文件清单.xlsx")
    @allowed(Role.CONTROLLER, Role.QA, Role.AUDITOR)
    def register_export() -> Response:
        with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as work:
            written = api.export_register(
                settings.archive, Path(work) / "受控文件清单.xlsx", config=settings.config, by=current_user.user.name
            )
            data = written.path.read_bytes()
        accounts.record(current_user.user.name, "register-export", "受控文件清单.xlsx", "已下载")
        return send_file(
            _bytes(data),
            download_name="受控文件清单.xlsx",
            as_attachment=True,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @app.post("/distribute")
    @allowed(Role.CONTROLLER)
    def distribute() -> Response:
        form = request.form
        try:
            count = int(form.get("count", "1"))
        except ValueError:
            abort(400, "份数应为整数")
        handout = api.Handout(
            holder=form.get("holder", ""),
            department=form.get("department", ""),
            count=count,
            controlled=form.get("uncontrolled") != "on",
            by=current_user.user.name,
        )
        code, version, user = form.get("file_code", ""), form.get("version", ""), current_user.user.name

        def work(job: Job) -> dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as folder:
                done = api.distribute(settings.archive, code, version, Path(folder), handout, progress=job.say)
                data = done.path.read_bytes()
            what = f"分发号 {done.copy.number}" if done.copy.number else "非受控副本"
            accounts.record(user, "distribute", f"{code} {version}", f"{what}：{done.copy.holder}")
            return {
                "data": data,
                "download_name": done.path.name,
                "mimetype": "application/pdf",
                "label": f"下载副本 PDF（{what}，{done.copy.holder}）",
            }

        return redirect(url_for("job", job_id=jobs.start(user, f"分发 {code} {version}", work).id))

    @app.post("/recall")
    @allowed(Role.CONTROLLER)
    def recall() -> Response:
        form = request.form
        copy = api.recall(
            settings.archive,
            form.get("file_code", ""),
            form.get("version", ""),
            form.get("number", ""),
            by=current_user.user.name,
        )
        accounts.record(current_user.user.name, "recall", f"{copy.file_code} {copy.version}", f"分发号 {copy.number}")
        flash(f"{copy.file_code} {copy.version} 分发号 {copy.number}：已回收")
        return redirect(url_for("register"))

    @app.route("/compare", methods=["GET", "POST"])
    @allowed(Role.QA, Role.CONTROLLER)
    def compare() -> str:
        if request.method == "GET":
            return render_template("compare.html")
        old_token, old_name = _keep_upload(uploads, "old", (".docx",))
        new_token, new_name = _keep_upload(uploads, "new", (".docx", ".xlsx"))
        compared = api.compare(
            _stored(uploads, old_token), _stored(uploads, new_token), api.CompareOptions(config=settings.config)
        )
        text = compared.diff.to_text().replace(str(_stored(uploads, old_token)), old_name) if compared.diff else ""
        text = text.replace(str(_stored(uploads, new_token)), new_name)
        accounts.record(
            current_user.user.name, "compare", f"{old_name} → {new_name}", "已比较" if compared.diff else "工作簿有错误"
        )
        groups = _by_sheet(compared.report) if compared.report and not compared.diff else []
        return render_template("compare.html", old=old_name, new=new_name, text=text, groups=groups)

    @app.route("/verify", methods=["GET", "POST"])
    @allowed(Role.QA, Role.CONTROLLER)
    def verify() -> str:
        if request.method == "GET":
            return render_template("verify.html")
        token, name = _keep_upload(uploads, "document", (".docx",))
        workbook = None
        if request.files.get("workbook") and request.files["workbook"].filename:
            workbook = _stored(uploads, _keep_upload(uploads, "workbook")[0])
        report = api.verify(_stored(uploads, token), workbook=workbook)
        accounts.record(
            current_user.user.name, "verify", name, f"{len(report.errors)} 个错误，{len(report.warnings)} 个警告"
        )
        return render_template("verify.html", name=name, report=report, groups=_by_sheet(report))

    @app.get("/audit")
    @allowed(Role.CONTROLLER, Role.AUDITOR)
    def audit() -> str:
        return render_template("audit.html", events=accounts.events())

    @app.errorhandler(api.OpsdocError)
    def unusable(error: api.OpsdocError) -> tuple[str, int]:
        if current_user.is_authenticated:
            accounts.record(current_user.user.name, request.endpoint or "", request.path, f"失败：{error.message}")
        return render_template("message.html", title="无法完成", message=error.message), 400

    return app


def _keep_upload(folder: Path, field: str, suffixes: tuple[str, ...] = (".xlsx",)) -> tuple[str, str]:
    """The uploaded file saved as {random}{suffix}, the suffix one of `suffixes` as the browser's name has it
    (a workbook and a document are told apart by it, as the CLI does); its token and that name (shown only)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        abort(400, "没有选择文件")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in suffixes:
        abort(400, f"请上传 {' 或 '.join(suffixes)} 文件，而不是「{Path(upload.filename).name[:60]}」")
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(16)
    upload.save(folder / f"{token}{suffix}")
    return token, Path(upload.filename).name[:120]


def _stored(folder: Path, token: str) -> Path:
    """An upload of this session by its token (the caller checked it is this user's)."""
    found = [p for p in (folder / f"{token}.xlsx", folder / f"{token}.docx") if p.is_file()]
    if not found or not re.fullmatch(r"[\w-]{22}", token):
        abort(404)
    return found[0]


def _note_against_current(workbook: Path, checked: api.Checked, settings: Settings) -> tuple[str, list[str] | None]:
    """The version of this document in force in the register, and the 修订说明 lines from it to the workbook
    (as opsdoc diff --note gives them; None while errors keep the workbook from being rendered);
    ("", []) when there is no version in force or the workbook is that version."""
    document = checked.workbook.document
    if document is None:
        return "", []
    try:
        entries = api.register_entries(settings.archive)
    except api.OpsdocError:
        return "", []
    current = next((e for e in entries if e.file_code == document.info.file_code and e.status == api.CURRENT), None)
    if current is None or current.version == document.info.version:
        return "", []
    compared = api.compare(settings.archive / current.docx_path, workbook, api.CompareOptions(config=settings.config))
    return current.version, compared.diff.summary_lines() if compared.diff else None


def _by_sheet(report: api.Report) -> list[tuple[str, list[api.Finding]]]:
    """The findings grouped by sheet, in workbook order, errors first within each."""
    groups: dict[str, list[api.Finding]] = {}
    for finding in report.sorted():
        groups.setdefault(finding.sheet or "整体", []).append(finding)
    order = {name: i for i, name in enumerate(report.sheet_order)}
    return sorted(groups.items(), key=lambda item: order.get(item[0], len(order)))


def _secret_key(folder: Path) -> bytes:
    """The key that signs sessions: made once per installation, readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "session.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(secrets.token_bytes(32))
    return path.read_bytes()


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)
