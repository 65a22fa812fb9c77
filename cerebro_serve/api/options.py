"""OPTIONS answered from the whole route table. Litestar answers OPTIONS for a path from the first route
handler registered there, so a path served by separate GET and POST handlers (`/v1/source`) listed only
one of them in `Allow`; this lists every method the path serves."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send


def answer_options(app: ASGIApp) -> ASGIApp:
    allowed: dict[str, str] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        if not allowed:
            allowed.update(_methods_by_path(scope["litestar_app"]))
        methods = allowed.get(scope["path"].rstrip("/") or "/")
        if methods is None:
            await app(scope, receive, send)  # no such path: the router's 404
            return
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", methods.encode())],
        }
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(end)

    return middleware


def _methods_by_path(app: Litestar) -> dict[str, str]:
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                methods.setdefault(route.path, {"OPTIONS"}).update(handler.http_methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}
