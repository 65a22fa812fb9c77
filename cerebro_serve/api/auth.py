"""The X-API-KEY guard. Each route says what it needs in its `opt`: `permission="read"` or `"write"`; a
route that says nothing is open to admin keys (`ask_`) only, so a new route cannot forget its permission
and open itself to every key. Without a key, a partner app's copilot token (`Authorization: Bearer
cpt_...`) is admitted by the routes that list its copilot's type (api/copilot_scope.py), and no other."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from cerebro_serve.api.copilot_scope import COPILOT, COPILOT_TYPES
from cerebro_serve.services import Workspace
from cerebro_serve.services.errors import Forbidden, Unauthorized

KEY_PERMISSION = "key_permission"  # where the guard leaves the caller's permission, in the request state
PARTNER = "Bearer cpt_"


def require_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    workspace: Workspace = connection.app.state.workspace
    key = connection.headers.get("x-api-key")
    bearer = connection.headers.get("authorization", "")
    if key is None and bearer.startswith(PARTNER):
        _admit_partner(connection, handler, bearer.removeprefix("Bearer "))
        return
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


def _admit_partner(connection: ASGIConnection, handler: BaseRouteHandler, token: str) -> None:
    """A genuine, unrevoked token of an enabled copilot, on a route open to its type."""
    copilot = connection.app.state.workspace.copilots.partner(token)
    if copilot.type not in handler.opt.get(COPILOT_TYPES, ()):
        raise Forbidden(f"a {copilot.type} copilot's token cannot call this route")
    connection.state[COPILOT] = copilot
    connection.state[KEY_PERMISSION] = "copilot"
