"""The X-API-KEY guard. Each route says what it needs in its `opt`: `permission="read"` or `"write"`; a
route that says nothing is open to admin keys (`ask_`) only, so a new route cannot forget its permission
and open itself to every key."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from cerebro_serve.services import Workspace
from cerebro_serve.services.errors import Forbidden, Unauthorized

KEY_PERMISSION = "key_permission"  # where the guard leaves the caller's permission, in the request state


def require_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    workspace: Workspace = connection.app.state.workspace
    key = connection.headers.get("x-api-key")
    granted = workspace.keys.permission(key)
    if granted is None:
        shown = (key or "")[:12]
        raise Unauthorized(f"Invalid secret key: {shown}" if key else "Missing X-API-KEY header")
    needed = handler.opt.get("permission", "all")
    if granted != "all" and granted != needed:
        if needed == "all":
            raise Forbidden("this route is for admin keys (ask_) only")
        raise Forbidden(f"this key is {granted}-only and the route needs {needed} access")
    connection.state[KEY_PERMISSION] = granted
