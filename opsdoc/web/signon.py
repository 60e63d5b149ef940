"""Single sign-on: the extension point through which a company's identity provider (OpenID Connect, say)
signs people in to the web page instead of their opsdoc password.

An extension is an installed Python package that declares an entry point in the group
`opsdoc.web.signon`, naming a function that takes `sign_in` and returns a SignOn: a label for the login
page and a Flask blueprint with the provider's routes (mounted at /signon/<blueprint name>/, its
`login` route linked from the login page). When the provider has vouched for someone, the blueprint
calls `sign_in(name, label)`, which answers with the page to go to. The provider says who someone is;
what they may do stays opsdoc's: the name must be an opsdoc account (opsdoc user add), whose role
applies, and every sign-in, allowed or refused, is in the audit log. docs/web.md shows one with Authlib.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint

GROUP = "opsdoc.web.signon"

SignIn = Callable[[str, str], Any]  # (account name, the provider's label) → the response to give


@dataclass(frozen=True)
class SignOn:
    label: str  # the login page says 使用{label}登录
    blueprint: Blueprint  # the provider's routes; its `login` route starts a sign-in


def installed() -> list[Callable[[SignIn], SignOn]]:
    """The sign-on extensions installed beside opsdoc."""
    from importlib.metadata import entry_points

    return [entry.load() for entry in entry_points(group=GROUP)]
