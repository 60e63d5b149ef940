"""The web page: the library's public face (opsdoc.api) behind a login, for people who use a mouse.

Flask serves the pages, Flask-Login keeps who is signed in, Flask-WTF guards every form against
cross-site requests; all three are the maintained libraries Flask users rely on. Each page asks
for a role; a page or a file is never served to anyone not signed in, and an action outside the
user's role is refused and written to the audit log like every other action, with the address it
came from. A session ends for good at logout, a new password or the account's removal. Uploads are
bounded in size, stored under a random name readable by the server only, owned by the user who sent
them, forgotten after a day, and read by the same code as the CLI's inputs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from opsdoc import api
from opsdoc.web import signon
from opsdoc.web.accounts import Accounts, Role, SignOff, User, now
from opsdoc.web.jobs import Job, Jobs

MAX_UPLOAD = 20 * 1024 * 1024  # bytes: a workbook of 25,000 rows is under 5 MB (a batch's, all together)
MAX_BATCH = 50  # workbooks in one batch: a morning's LibreOffice time with PDFs, not a day's
MAX_UNPACKED = 100 * 1024 * 1024  # bytes of a workbook's parts, unpacked, that the page will annotate
UPLOAD_HOURS = 24  # an upload (and its annotated copy) is kept this long for its owner
FAILURES = 5  # failed logins from one address or for one name within FAILURE_WINDOW …
FAILURE_WINDOW = 300  # … seconds: further attempts wait that long
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Settings:
    data: Path  # accounts, audit log, uploads, the session key
    archive: Path  # the register's archive folder
    config: Path | None = None  # opsdoc.toml for checks and issues
    https: bool = False  # served behind an HTTPS proxy: cookies only over HTTPS, the proxy's address logged
    extra: dict[str, Any] = field(default_factory=dict)  # Flask settings (tests)


class _Login(UserMixin):  # type: ignore[misc]
    def __init__(self, user: User):
        self.user = user
        self.id = f"{user.generation}:{user.name}"  # a session of an older generation no longer signs in


class _Throttle:
    """Failed logins by address and by name: after FAILURES within FAILURE_WINDOW, further tries wait."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(
                len([t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW]) >= FAILURES for key in keys
            )

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW]
                self._failures[key] = [*recent, now]


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings.data),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        WTF_CSRF_TIME_LIMIT=None,  # a form stays valid for the session
        **settings.extra,
    )
    if settings.https:  # the proxy's X-Forwarded-For and -Proto: the visitor's address, https links
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    CSRFProtect(app)
    accounts = Accounts(settings.data)
    jobs = Jobs()
    throttle = _Throttle()
    uploads = settings.data / "uploads"
    logins = LoginManager(app)
    logins.login_view = "login"
    logins.login_message = "请先登录"

    @logins.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def load(session_id: str) -> _Login | None:
        generation, _, name = session_id.partition(":")
        user = accounts.get(name)
        return _Login(user) if user and str(user.generation) == generation else None

    def audit(user: str, action: str, target: str, outcome: str) -> None:
        accounts.record(user, action, target, outcome, request.remote_addr or "")

    def who() -> str:
        return current_user.user.name if current_user.is_authenticated else "（未登录）"

    def allowed(*roles: Role) -> Callable[[F], F]:
        """The view for these roles only; anyone else gets 403, and the refusal is in the audit log."""

        def decorate(view: F) -> F:
            @wraps(view)
            @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
            def guarded(*args: Any, **kwargs: Any) -> Any:
                user: User = current_user.user
                if user.role not in roles:
                    audit(user.name, request.endpoint or "", request.path, "拒绝：角色无权限")
                    abort(403)
                return view(*args, **kwargs)

            return guarded  # type: ignore[return-value]

        return decorate

    def page_of(title: str, message: str, status: int) -> tuple[str, int]:
        return render_template("message.html", title=title, message=message), status

    @app.context_processor
    def signed_in() -> dict[str, Any]:
        return {"user": current_user.user if current_user.is_authenticated else None}

    @app.after_request
    def guarded_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"  # no page of the register from a shared PC's history
        return response

    @app.errorhandler(CSRFError)
    def stale(_error: HTTPException) -> tuple[str, int]:
        audit(who(), request.endpoint or "", request.path, "拒绝：缺少或无效的 CSRF 令牌")
        return page_of("请求被拒绝", "页面已过期，或请求不是从本站页面发出的：请刷新页面后重试", 400)

    @app.errorhandler(400)
    def bad_request(error: HTTPException) -> tuple[str, int]:
        audit(who(), request.endpoint or "", request.path, f"拒绝：{error.description or '请求有误'}")
        return page_of("请求有误", error.description or "请求有误", 400)

    @app.errorhandler(404)
    def missing(_error: HTTPException) -> tuple[str, int]:
        return page_of("没有这个页面", "页面或文件不存在，或不属于您", 404)

    @app.errorhandler(405)
    def wrong_method(_error: HTTPException) -> tuple[str, int]:
        return page_of("请求方式不对", "请从页面上的按钮进行这项操作", 405)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error: HTTPException) -> tuple[str, int]:
        audit(who(), request.endpoint or "", request.path, "拒绝：上传的文件过大")
        return page_of("文件过大", f"上传的文件超过 {MAX_UPLOAD // 2**20} MB", 413)

    @app.errorhandler(403)
    def forbidden(_error: HTTPException) -> tuple[str, int]:
        return page_of("无权限", "您的角色不能进行这项操作", 403)

    @app.errorhandler(api.OpsdocError)
    def unusable(error: api.OpsdocError) -> tuple[str, int]:
        audit(who(), request.endpoint or "", request.path, f"失败：{error.message}")
        return page_of("无法完成", error.message, 400)

    @app.errorhandler(Exception)
    def fault(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return page_of(error.name, error.description or "", error.code or 500)
        app.logger.exception("opsdoc web: %s", error)
        audit(who(), request.endpoint or "", request.path, f"内部错误：{type(error).__name__}")
        return page_of(
            "内部错误", f"opsdoc 出错了（{type(error).__name__}），这项操作没有完成：请把时间告诉管理员", 500
        )

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | tuple[str, int] | Response:
        if request.method == "POST":
            name = request.form.get("name", "").strip()[:40]
            address = request.remote_addr or ""
            if throttle.blocked(f"addr:{address}", f"name:{name}"):
                audit(name or "（空）", "login", "", "拒绝：失败次数过多，暂停登录")
                return page_of("请稍后再试", f"登录失败次数过多，请 {FAILURE_WINDOW // 60} 分钟后再试", 429)
            user = accounts.verify(name, request.form.get("password", ""))
            if user is None:
                throttle.fail(f"addr:{address}", f"name:{name}")
                audit(name or "（空）", "login", "", "拒绝：用户名或密码错误")
                flash("用户名或密码错误")
                return render_template("login.html", signons=signons), 401
            session.clear()
            login_user(_Login(user))
            audit(user.name, "login", "", "成功")
            return redirect(url_for("home"))
        return render_template("login.html", signons=signons)

    def sign_in(name: str, via: str) -> Response | tuple[str, int]:
        """Sign in the account a sign-on extension vouched for (see signon.py): the home page, or a refusal."""
        user = accounts.get(name)
        if user is None:
            audit(name[:40] or "（空）", "login", via, "拒绝：没有该 opsdoc 账号")
            return page_of(
                "无法登录", f"{via}确认了「{name[:40]}」，但 opsdoc 没有这个账号：请文控用 opsdoc user add 建立", 403
            )
        session.clear()
        login_user(_Login(user))
        audit(user.name, "login", via, "成功（单点登录）")
        return redirect(url_for("home"))

    signons: list[tuple[str, str]] = []  # (label, its login endpoint) for the login page
    for make in signon.installed():
        extension = make(sign_in)
        app.register_blueprint(extension.blueprint, url_prefix=f"/signon/{extension.blueprint.name}")
        signons.append((extension.label, f"{extension.blueprint.name}.login"))

    @app.post("/logout")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def logout() -> Response:
        name = current_user.user.name
        accounts.end_sessions(name)  # a copied cookie of this session no longer signs in
        audit(name, "logout", "", "成功")
        logout_user()
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def home() -> str:
        return render_template("home.html")

    def keep(field: str, suffixes: tuple[str, ...] = (".xlsx",)) -> tuple[Path, str]:
        """An uploaded file, kept for its owner under a random name; its path and the name it was sent as."""
        forget_old_uploads()
        return keep_one(request.files.get(field), suffixes)

    def keep_all(field: str) -> list[tuple[Path, str]]:
        """Every workbook of a multiple upload, kept like one; none kept when one is refused."""
        forget_old_uploads()
        sent = [upload for upload in request.files.getlist(field) if upload.filename]
        if not sent:
            abort(400, "没有选择文件")
        if len(sent) > MAX_BATCH:
            abort(400, f"一次最多 {MAX_BATCH} 个工作簿，而不是 {len(sent)} 个：请分几批上传")
        names = [Path((upload.filename or "").replace("\\", "/")).name for upload in sent]
        wrong = next((name for name in names if Path(name).suffix.lower() != ".xlsx"), None)
        if wrong is not None:
            abort(400, f"请上传 .xlsx 文件，而不是「{wrong[:60]}」")
        return [keep_one(upload, (".xlsx",)) for upload in sent]

    def keep_one(upload: FileStorage | None, suffixes: tuple[str, ...]) -> tuple[Path, str]:
        path, name = _keep_upload(uploads, upload, suffixes)
        accounts.own_upload(path.stem, current_user.user.name, name)
        return path, name

    def forget_old_uploads() -> None:
        cutoff = (datetime.now().astimezone() - timedelta(hours=UPLOAD_HOURS)).isoformat(timespec="seconds")
        for token in accounts.forget_uploads(cutoff):
            for old in uploads.glob(f"{token}*"):
                old.unlink(missing_ok=True)

    def owned(token: str) -> tuple[Path, str]:
        """This user's upload by its token; 404 for anyone else's, or none (the same answer)."""
        name = accounts.upload_name(token, current_user.user.name) if re.fullmatch(r"[\w-]{22}", token) else None
        found = [p for p in (uploads / f"{token}.xlsx", uploads / f"{token}.docx") if p.is_file()]
        if name is None or not found:
            abort(404)
        return found[0], name

    def start(
        title: str,
        work: Callable[[Job], dict[str, Any]],
        action: str,
        target: str,
        discard: Callable[[], None] = lambda: None,
    ) -> Response:
        """Long work in the background, its page at once; refused while the user has work running (then
        `discard` removes what was kept for it)."""
        user = current_user.user.name
        running = jobs.running(user)
        if running is not None:
            discard()
            flash(f"您的「{running.title}」还在进行，完成后再开始新的工作")
            return redirect(url_for("job", job_id=running.id))
        address = request.remote_addr or ""

        def failed(message: str) -> None:
            accounts.record(user, action, target, f"失败：{message}", address)

        job = jobs.start(user, title, work, failed)
        if job is None:
            discard()
            abort(503)
        return redirect(url_for("job", job_id=job.id))

    @app.route("/check", methods=["GET", "POST"])
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def check() -> str:
        if request.method == "GET":
            return render_template("check.html")
        path, name = keep("workbook")
        try:
            checked = api.check(path, api.CheckOptions(config=settings.config))
        except api.OpsdocError:
            path.unlink(missing_ok=True)  # not a workbook: nothing of it is kept
            raise
        report = checked.report
        audit(current_user.user.name, "check", name, f"{len(report.errors)} 个错误，{len(report.warnings)} 个警告")
        in_force, note = _note_against_current(path, checked, settings)
        return render_template(
            "check.html",
            name=name,
            token=path.stem,
            groups=_by_sheet(report),
            report=report,
            previewable=report.passes(),
            in_force=in_force,
            note=note,
        )

    @app.post("/check/<token>/preview")
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def preview(token: str) -> Response:
        workbook, name = owned(token)
        user = current_user.user.name

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

        return start(f"预览 {name}", work, "preview", name)

    @app.get("/check/<token>/annotated.xlsx")
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA)
    def annotated(token: str) -> Response:
        workbook, name = owned(token)
        copy = uploads / f"{token}-annotated.xlsx"
        if not copy.is_file():  # made once per upload: a reload costs nothing
            if _unpacked_size(workbook) > MAX_UNPACKED:
                abort(
                    400,
                    f"工作簿解压后超过 {MAX_UNPACKED // 2**20} MB，网页不为它生成标注副本：请用 opsdoc check --annotate",
                )
            checked = api.check(workbook, api.CheckOptions(config=settings.config))
            with tempfile.TemporaryDirectory(prefix="opsdoc-web-", dir=uploads) as work:
                written = api.annotate(checked, Path(work) / "annotated.xlsx")
                os.replace(written.path, copy)
        audit(current_user.user.name, "annotate", name, "已下载")
        data = copy.read_bytes()  # a few MB at most; no file left open on a response a client drops
        return send_file(
            io.BytesIO(data), download_name=f"{Path(name).stem}_检查.xlsx", as_attachment=True, mimetype=XLSX
        )

    @app.route("/issue", methods=["GET", "POST"])
    @allowed(Role.CONTROLLER)
    def issue() -> str | Response:
        if request.method == "GET":
            return render_template("issue.html")
        path, name = keep("workbook")
        options = api.IssueOptions(
            archive=settings.archive,
            config=settings.config,
            by=current_user.user.name,  # the register records who issued it, as signed in
            backdate=request.form.get("backdate") == "on",
        )
        user = current_user.user.name

        def work(job: Job) -> dict[str, Any]:
            result = api.issue(path, options, progress=job.say)
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

        return start(f"发布 {name}", work, "issue", name)

    @app.route("/batch", methods=["GET", "POST"])
    @allowed(Role.MANAGER, Role.CONTROLLER)
    def batch() -> str | Response:
        """Build many workbooks at once (opsdoc build a.xlsx b.xlsx …), in the background, each said as it goes."""
        if request.method == "GET":
            return render_template("batch.html")
        kept = keep_all("workbooks")
        options = api.BuildOptions(pdf=request.form.get("pdf") == "on", config=settings.config)
        user = current_user.user.name
        target = f"{len(kept)} 个工作簿"

        def discard() -> None:  # nothing of the uploads is kept once built, or once refused
            for path, _ in kept:
                path.unlink(missing_ok=True)

        def work(job: Job) -> dict[str, Any]:
            try:
                lines, data = _build_all(kept, options, job.say)
            finally:
                discard()
            built = sum(bool(line.written) for line in lines)
            accounts.record(user, "batch", target, f"生成 {built} 个，未生成 {len(lines) - built} 个")
            return {
                "page": "batch.html",
                "lines": lines,
                "job_id": job.id,
                "data": data,
                "download_name": "批量生成.zip",
                "mimetype": "application/zip",
            }

        return start(f"批量生成 {target}", work, "batch", target, discard)

    @app.get("/jobs/<job_id>")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def job(job_id: str) -> str:
        found = jobs.of(current_user.user.name, job_id)
        if found is None:  # not this user's (or not one at all): the same answer
            abort(404)
        done = found.done  # read once: the page shows one state, whatever the job does meanwhile
        if done and found.error is not None:
            return render_template("message.html", title="无法完成", message=found.error)
        if done and found.result and "page" in found.result:
            return render_template(found.result["page"], **{k: v for k, v in found.result.items() if k != "page"})
        return render_template("job.html", job=found, done=done)

    @app.get("/jobs/<job_id>/file")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def job_file(job_id: str) -> Response:
        found = jobs.of(current_user.user.name, job_id)
        if found is None or not found.done or not found.result or "data" not in found.result:
            abort(404)
        result = found.result
        return send_file(
            io.BytesIO(result["data"]),
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
        due = api.due(settings.archive, config=settings.config) if entries else []
        return render_template("register.html", entries=entries, problem=problem, copies=copies, due=due)

    @app.get("/register/<file_code>/<version>/<kind>")
    @allowed(Role.CONTROLLER, Role.QA, Role.AUDITOR)
    def archived(file_code: str, version: str, kind: str) -> Response:
        """A file of the release package (对比稿, 修订说明) or a 作废 copy, as the register holds it."""
        if kind not in ("redline", "notes", "void_pdf"):
            abort(404)
        name, data = api.archived_file(settings.archive, file_code, version, kind)
        audit(current_user.user.name, "archive-download", name, "已下载")
        mimetype = {
            "redline": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "notes": "text/plain; charset=utf-8",
            "void_pdf": "application/pdf",
        }[kind]
        return send_file(io.BytesIO(data), download_name=name, as_attachment=True, mimetype=mimetype)

    @app.post("/register/review")
    @allowed(Role.CONTROLLER)
    def review() -> Response:
        form = request.form
        found = api.review(
            settings.archive,
            form.get("file_code", ""),
            form.get("version", ""),
            conclusion=form.get("conclusion", "").strip()[:200] or "继续适用",
            by=current_user.user.name,
        )
        audit(current_user.user.name, "review", f"{found.file_code} {found.version}", found.conclusion)
        flash(f"{found.file_code} {found.version}：已登记定期评审（{found.conclusion}）")
        return redirect(url_for("register"))

    @app.post("/register/dispose")
    @allowed(Role.CONTROLLER)
    def dispose() -> Response:
        form = request.form
        entry = api.dispose(
            settings.archive,
            form.get("file_code", ""),
            form.get("version", ""),
            config=settings.config,
            by=current_user.user.name,
        )
        files = "文件已删除" if entry.files_removed else "文件保留"
        audit(current_user.user.name, "dispose", f"{entry.file_code} {entry.version}", files)
        flash(f"{entry.file_code} {entry.version}：已处置（{files}）")
        return redirect(url_for("register"))

    @app.get("/register/受控文件清单.xlsx")
    @allowed(Role.CONTROLLER, Role.QA, Role.AUDITOR)
    def register_export() -> Response:
        with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as work:
            written = api.export_register(
                settings.archive, Path(work) / "受控文件清单.xlsx", config=settings.config, by=current_user.user.name
            )
            data = written.path.read_bytes()
        audit(current_user.user.name, "register-export", "受控文件清单.xlsx", "已下载")
        return send_file(io.BytesIO(data), download_name="受控文件清单.xlsx", as_attachment=True, mimetype=XLSX)

    @app.post("/distribute")
    @allowed(Role.CONTROLLER)
    def distribute() -> Response:
        form = request.form
        count = form.get("count", "1").strip()
        if not count.isdigit() or len(count) > 4:
            abort(400, "份数应为 1 到 9999 之间的整数")
        handout = api.Handout(
            holder=form.get("holder", ""),
            department=form.get("department", ""),
            count=int(count),
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

        return start(f"分发 {code} {version}", work, "distribute", f"{code} {version}")

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
        audit(current_user.user.name, "recall", f"{copy.file_code} {copy.version}", f"分发号 {copy.number}")
        flash(f"{copy.file_code} {copy.version} 分发号 {copy.number}：已回收")
        return redirect(url_for("register"))

    @app.route("/compare", methods=["GET", "POST"])
    @allowed(Role.QA, Role.CONTROLLER)
    def compare() -> str:
        if request.method == "GET":
            return render_template("compare.html")
        old, old_name = keep("old", (".docx",))
        new, new_name = keep("new", (".docx", ".xlsx"))
        compared = api.compare(old, new, api.CompareOptions(config=settings.config))
        text = compared.diff.to_text().replace(str(old), old_name).replace(str(new), new_name) if compared.diff else ""
        audit(
            current_user.user.name, "compare", f"{old_name} → {new_name}", "已比较" if compared.diff else "工作簿有错误"
        )
        groups = _by_sheet(compared.report) if compared.report and not compared.diff else []
        return render_template("compare.html", old=old_name, new=new_name, text=text, groups=groups)

    @app.route("/verify", methods=["GET", "POST"])
    @allowed(Role.QA, Role.CONTROLLER)
    def verify() -> str:
        if request.method == "GET":
            return render_template("verify.html")
        document, name = keep("document", (".docx",))
        workbook = None
        if request.files.get("workbook") and request.files["workbook"].filename:
            workbook = keep("workbook")[0]
        report = api.verify(document, workbook=workbook)
        audit(current_user.user.name, "verify", name, f"{len(report.errors)} 个错误，{len(report.warnings)} 个警告")
        return render_template("verify.html", name=name, report=report, groups=_by_sheet(report))

    @app.route("/signoffs", methods=["GET", "POST"])
    @allowed(Role.MANAGER, Role.CONTROLLER, Role.QA, Role.AUDITOR)
    def signoffs() -> str:
        """审核 and 批准 in the page: a workbook without errors is sent for signatures; the accounts named as its
        last 修订记录 row's 审核人 and 批准人 sign it, in that order; the 文控 then issues exactly that workbook."""
        user: User = current_user.user
        groups: list[tuple[str, list[api.Finding]]] = []
        if request.method == "POST":
            if user.role not in (Role.MANAGER, Role.CONTROLLER):
                audit(user.name, "signoff-submit", request.path, "拒绝：角色无权限")
                abort(403)
            path, name = keep("workbook")
            checked = api.check(path, api.CheckOptions(config=settings.config, strict=True))
            document = checked.workbook.document
            if document is None or not checked.report.passes(strict=True):
                groups = _by_sheet(checked.report)
                audit(user.name, "signoff-submit", name, "拒绝：工作簿有错误或警告")
            else:
                last = document.revisions[-1]
                signoff = SignOff(
                    id=secrets.token_urlsafe(12),
                    upload=path.stem,
                    name=name,
                    sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                    file_code=document.info.file_code,
                    version=document.info.version,
                    reviewer=last.reviewer,
                    approver=last.approver,
                    submitted_by=user.name,
                    submitted_at=now(),
                )
                accounts.submit(signoff)
                audit(
                    user.name, "signoff-submit", f"{signoff.file_code} {signoff.version}", f"待 {signoff.reviewer} 审核"
                )
                flash(
                    f"{signoff.file_code} {signoff.version} 已送审：待 {signoff.reviewer} 审核，再由 {signoff.approver} 批准"
                )
        every = accounts.signoffs()
        mine = user.role in (Role.CONTROLLER, Role.AUDITOR)
        shown = [s for s in every if mine or user.name in (s.reviewer, s.approver, s.submitted_by)]
        return render_template("signoffs.html", signoffs=shown, groups=groups)

    def step(signoff_id: str, action: str) -> SignOff:
        found = accounts.signoff(signoff_id)
        if found is None:
            abort(404)
        user: User = current_user.user
        signer = {"review": found.reviewer, "approve": found.approver}.get(action)
        allowed_here = (
            user.name == signer
            or (action == "refuse" and user.name in (found.reviewer, found.approver))
            or (action == "issue" and user.role == Role.CONTROLLER)
        )
        if user.role == Role.AUDITOR or not allowed_here:
            audit(user.name, f"signoff-{action}", f"{found.file_code} {found.version}", "拒绝：不是签署人或无权限")
            abort(403)
        return found

    @app.post("/signoffs/<signoff_id>/<action>")
    @login_required  # type: ignore[untyped-decorator]  # flask-login ships no type information
    def sign(signoff_id: str, action: str) -> Response:
        if action not in ("review", "approve", "refuse", "issue"):
            abort(404)
        found = step(signoff_id, action)
        name, target = current_user.user.name, f"{found.file_code} {found.version}"
        if action == "issue":
            return issue_signed(found)
        if action == "refuse":
            reason = request.form.get("reason", "").strip()[:200] or "（未说明）"
            done = any(
                accounts.mark(found.id, state, refused_by=name, refused_at=now(), refusal=reason)
                for state in ("待审核", "待批准")
            )
            outcome = f"退回：{reason}"
        else:
            field, state = ("reviewed_at", "待审核") if action == "review" else ("approved_at", "待批准")
            done = accounts.mark(found.id, state, **{field: now()})
            outcome = "审核通过" if action == "review" else "批准"
        if not done:  # another signature (or a refusal) came first
            now_state = found.state if (latest := accounts.signoff(found.id)) is None else latest.state
            flash(f"{target} 现在是「{now_state}」，这一步不能进行")
            outcome = "拒绝：状态已变"
        audit(name, f"signoff-{action}", target, outcome)
        return redirect(url_for("signoffs"))

    def issue_signed(found: SignOff) -> Response:
        """Issue the signed workbook itself: its bytes as signed, the signatures recorded with the version."""
        if found.state != "已批准":
            flash(f"{found.file_code} {found.version} 是「{found.state}」：批准之后才能发布")
            return redirect(url_for("signoffs"))
        path = uploads / f"{found.upload}.xlsx"
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != found.sha256:
            abort(400, "送审的工作簿已不在或被改动过，不能发布：请重新送审")
        options = api.IssueOptions(
            archive=settings.archive,
            config=settings.config,
            by=current_user.user.name,
            backdate=request.form.get("backdate") == "on",
            signed=found.signed,
        )
        user = current_user.user.name

        def work(job: Job) -> dict[str, Any]:
            result = api.issue(path, options, progress=job.say)
            issued = result.issued
            entry = issued.entry if issued else None
            outcome = f"{entry.file_code} {entry.version}：{issued.outcome.label}" if issued and entry else "未发布"
            if entry is not None:
                accounts.mark(found.id, "已批准", issued_at=now())
            accounts.record(user, "issue", f"{found.name}（已签署）", outcome)
            refused = issued.report if issued and issued.report and not issued.report.passes() else result.report
            return {
                "page": "issue.html",
                "name": found.name,
                "outcome": outcome,
                "issued": issued,
                "groups": _by_sheet(refused),
            }

        return start(f"发布 {found.file_code} {found.version}", work, "issue", found.name)

    @app.get("/audit")
    @allowed(Role.CONTROLLER, Role.AUDITOR)
    def audit_log() -> str:
        before = request.args.get("before", "")
        events = accounts.events(before=int(before) if before.isdigit() and len(before) < 18 else None)
        return render_template("audit.html", events=events)

    return app


@dataclass(frozen=True)
class BatchLine:
    """One workbook of a batch, as the page shows it."""

    name: str  # as it was uploaded
    written: list[str]  # the files made, as named in the zip
    said: str  # 已生成, or why not
    groups: list[tuple[str, list[Any]]]  # its findings by sheet


def _build_all(
    kept: list[tuple[Path, str]], options: api.BuildOptions, say: Callable[[str], None]
) -> tuple[list[BatchLine], bytes]:
    """Build each workbook in turn (the server's one LibreOffice lays out each PDF), and zip what was
    made: each workbook's files in a folder named after it, so two of the same project never collide."""
    lines: list[BatchLine] = []
    archive = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="opsdoc-web-") as work, zipfile.ZipFile(archive, "w") as package:
        for number, (path, name) in enumerate(kept, 1):
            say(f"第 {number}/{len(kept)} 个：{name}")
            # numbered, so two uploads of one name (or of names a Windows unzip would merge) never collide;
            # named as opsdoc names its files, so that every unzip can make the folder
            folder = api.safe_file_name(f"{number:02d}_{Path(name).stem}")
            out = Path(work) / str(number)
            try:
                result = api.build(path, out, options, progress=say if options.pdf else None)
            except api.OpsdocError as exc:  # not a workbook at all: said, and the others go on
                lines.append(BatchLine(name, [], f"无法读取：{exc.message}", []))
                continue
            made = [f.path for f in result.files if f.kind in (api.FileKind.DOCUMENT, api.FileKind.PDF)]
            for file in made:
                package.write(file, f"{folder}/{file.name}")
            report = result.report
            said = (
                "已生成" + (f"（{len(report.warnings)} 个警告）" if report.warnings else "")
                if made
                else f"未生成：{len(report.errors)} 个错误"
            )
            lines.append(BatchLine(name, [f"{folder}/{f.name}" for f in made], said, _by_sheet(report)))
        package.writestr("批量生成结果.txt", "".join(f"{line.name}：{line.said}\n" for line in lines))
    return lines, archive.getvalue()


def _keep_upload(folder: Path, upload: FileStorage | None, suffixes: tuple[str, ...]) -> tuple[Path, str]:
    """The uploaded file saved as {random}{suffix}, readable by the server only, the suffix one of `suffixes`
    as the browser's name has it (a workbook and a document are told apart by it, as the CLI does); its path
    and that name (shown only, never a path)."""
    if upload is None or not upload.filename:
        abort(400, "没有选择文件")
    sent = Path(upload.filename.replace("\\", "/"))
    name = sent.stem[:110] + sent.suffix[:10]  # shortened, its suffix kept: what it is told by
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        abort(400, f"请上传 {' 或 '.join(suffixes)} 文件，而不是「{name[:60]}」")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{secrets.token_urlsafe(16)}{suffix}"
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
        upload.save(stream)
    return path, name


def _unpacked_size(path: Path) -> int:
    try:
        with zipfile.ZipFile(path) as package:
            return sum(entry.file_size for entry in package.infolist())
    except (OSError, zipfile.BadZipFile):
        return 0  # the check says what is wrong with it


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


KEY_BYTES = 32


def _secret_key(folder: Path) -> bytes:
    """The key that signs sessions: made once per installation, readable by its owner only; one that is
    not whole (a crash while it was written) is made anew, which ends every session."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "session.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) == KEY_BYTES:
        return key
    staged = folder / f".session.key.{os.getpid()}"
    with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as stream:
        stream.write(secrets.token_bytes(KEY_BYTES))
    os.replace(staged, path)
    return path.read_bytes()
