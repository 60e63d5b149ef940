"""`opsdoc serve`: the web page, and the accounts that may use it (see app.py and accounts.py)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from opsdoc.errors import OpsdocError

INSTALL = "pip install 'opsdoc[web]'"
DEMO_ACCOUNTS = (("周建峰", "manager"), ("李文控", "controller"), ("质检", "qa"), ("审计员", "auditor"))
DEMO_NOTE = "演示账号.txt"  # in --data: the demo's passwords, for its next start (mode 0600)


def serve(data: Path, archive: Path, config: Path | None, host: str, port: int, https: bool = False) -> None:
    """Serve the web page with waitress (a production WSGI server, pure Python) until interrupted.
    `https`: behind a proxy that ends TLS (cookies only over HTTPS, the visitor's address from the proxy)."""
    _installed()
    import waitress

    from opsdoc.web.app import Settings, create_app

    app = create_app(Settings(data=data, archive=archive, config=config, https=https))
    waitress.serve(app, host=host, port=port, threads=4, ident="opsdoc")


def _installed() -> None:
    """The web page's packages, or the message that says how to install them."""
    try:
        import flask_login  # noqa: F401
        import flask_wtf  # noqa: F401
        import waitress  # noqa: F401
    except ImportError as exc:
        raise OpsdocError(
            None, f"网页需要 Flask、Flask-Login、Flask-WTF 和 waitress（{exc.name}）：请安装（{INSTALL}）"
        ) from None


def prepare_demo(data: Path, archive: Path, workbook: Path, say: Callable[[str], None]) -> list[str]:
    """A site to try the page on: one account per role with a password made here (said, and kept in
    DEMO_NOTE for the next start), and `workbook` issued into the archive as 李文控 when LibreOffice is
    there. Nothing is redone on a later start. The lines to show: who signs in with what."""
    from opsdoc import api
    from opsdoc.web.accounts import Accounts

    _installed()
    note = data / DEMO_NOTE
    if not note.is_file():
        if (data / "opsdoc-web.sqlite").exists():
            raise OpsdocError(data, "已有账户的数据文件夹不能用作演示：请给 --demo 另一个 --data 文件夹")
        if api.register_database(archive) is not None:  # a company's real register: never a demo version in it
            raise OpsdocError(
                None, "演示不使用服务器数据库上的登记册（register_url 或 OPSDOC_REGISTER_URL）：请在别处试用"
            )
        if archive.exists() and any(archive.iterdir()):
            raise OpsdocError(
                archive, "归档文件夹不是空的：演示只发布到新的归档文件夹（不给 --archive 时在 --data 中）"
            )
        accounts = Accounts(data)
        lines = []
        for name, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            label = accounts.add(name, role, password).role.label
            lines.append(f"{label}  {name}  密码 {password}")
        with os.fdopen(os.open(note, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as kept:
            kept.write("\n".join(lines) + "\n")
        try:
            result = api.issue(workbook, api.IssueOptions(archive=archive, backdate=True, by="李文控"), progress=say)
        except OpsdocError as exc:  # the page works without it: the register is empty until someone issues
            say(f"示例未发布（{exc.message}），受控文件清单为空")
        else:
            issued = result.issued.entry if result.issued else None
            say(f"示例已发布：{issued.file_code} {issued.version}" if issued else "示例有错误，未发布")
    return note.read_text(encoding="utf-8").splitlines()


def add_user(data: Path, name: str, role: str, password: str) -> str:
    """Add an account; the role's label."""
    from opsdoc.web.accounts import Accounts

    return Accounts(data).add(name, role, password).role.label


def set_password(data: Path, name: str, password: str) -> None:
    """A new password for an account; its sessions end."""
    from opsdoc.web.accounts import Accounts

    Accounts(data).set_password(name, password)


def remove_user(data: Path, name: str) -> None:
    """Remove an account; its sessions end, its audit entries stay."""
    from opsdoc.web.accounts import Accounts

    Accounts(data).remove(name)
