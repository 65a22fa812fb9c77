"""Studio sign-in: an admin key, checked once and then kept on the server (Litestar's server-side
sessions); the browser holds only a session id, in an HttpOnly, SameSite=Strict cookie, so a Studio page
never carries the key and another site cannot post a form with the admin's session."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.response import Redirect

from cerebro_serve.services import Workspace

SESSIONS = ServerSideSessionConfig(
    key="cerebro_studio", samesite="strict", httponly=True, max_age=8 * 3600, path="/studio"
)
ADMIN_KEY = "admin_key"


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


def to_sign_in(request: Request, error: Exception) -> Redirect:
    return Redirect(f"/studio/sign-in?{urlencode({'next': str(error)})}")
