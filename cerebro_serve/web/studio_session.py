"""Studio sign-in: an admin key, checked once and then kept on the server (Litestar's server-side
sessions); the browser holds only a session id, in an HttpOnly, SameSite=Strict cookie, so a Studio page
never carries the key and another site cannot post a form with the admin's session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from litestar import Request
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.response import Redirect
from litestar.stores.file import FileStore

from cerebro_serve.services import Workspace
from cerebro_serve.web.render import language

SESSIONS = ServerSideSessionConfig(
    key="cerebro_studio", samesite="strict", httponly=True, max_age=8 * 3600, path="/studio"
)
ADMIN_KEY = "admin_key"


def shared_sessions(directory: Path) -> Callable[[AppConfig], AppConfig]:
    """Keep the Studio's sessions in files under `directory` (Litestar's FileStore) rather than in one
    process's memory: every server worker knows an admin who signed in on another, and a restart signs
    no one out. The files hold admin keys: the directory is the data dir's, readable by the server only."""

    def configure(config: AppConfig) -> AppConfig:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stores = dict(config.stores or {}) if isinstance(config.stores, dict) else {}
        config.stores = {**stores, SESSIONS.store: FileStore(directory)}
        return config

    return configure


class SignInRequired(Exception):
    """Raised by the Studio's guard; its exception handler sends the browser to the sign-in page."""


def signed_in_key(connection: ASGIConnection) -> str | None:
    """The admin key of the session, while it is still this workspace's admin key."""
    key = (connection.session or {}).get(ADMIN_KEY)
    workspace: Workspace = connection.app.state.workspace
    return key if key and workspace.keys.permission(key) == "all" else None


def require_admin(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if signed_in_key(connection) is None:
        query = connection.url.query
        raise SignInRequired(connection.url.path + (f"?{query}" if query else ""))


def back(request: Request, path: str, slot: str, **outcome: str | None) -> Redirect:
    """After an action, the page again in the admin's language (post/redirect/get). What the action did
    waits in the server-side session under the page's `slot`, shown once: no link can make the Studio show
    a message."""
    done = {name: value for name, value in outcome.items() if value is not None}
    request.set_session({**(request.session or {}), slot: done})
    return Redirect(f"{path}?{urlencode({'lang': language(request)})}", status_code=303)


def flash(request: Request, slot: str) -> dict[str, str]:
    """The outcome of the last action on the page, once."""
    session = dict(request.session or {})
    message = session.pop(slot, None) or {}
    if message:
        request.set_session(session)
    return message


def to_sign_in(request: Request, error: Exception) -> Redirect:
    return Redirect(f"/studio/sign-in?{urlencode({'next': str(error)})}")
