"""`opsdoc serve`: the web page, and the accounts that may use it (see app.py and accounts.py)."""

from __future__ import annotations

from pathlib import Path

from opsdoc.errors import OpsdocError

INSTALL = "pip install 'opsdoc[web]'"


def serve(data: Path, archive: Path, config: Path | None, host: str, port: int, https: bool = False) -> None:
    """Serve the web page with waitress (a production WSGI server, pure Python) until interrupted.
    `https`: behind a proxy that ends TLS (cookies only over HTTPS, the visitor's address from the proxy)."""
    try:
        import waitress

        from opsdoc.web.app import Settings, create_app
    except ImportError as exc:
        raise OpsdocError(
            None, f"网页需要 Flask、Flask-Login、Flask-WTF 和 waitress（{exc.name}）：请安装（{INSTALL}）"
        ) from None
    app = create_app(Settings(data=data, archive=archive, config=config, https=https))
    waitress.serve(app, host=host, port=port, threads=4, ident="opsdoc")


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
