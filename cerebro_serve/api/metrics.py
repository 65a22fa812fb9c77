"""Counting every HTTP exchange for `/metrics`: an ASGI wrapper around the whole application, outside
Litestar's routing (as Litestar's own OpenTelemetry middleware is placed), so requests no route answers
(404, 405) are counted too. Route middleware would never see those.

The route label is the template the router matched (`/v1/profiles/scoring`), never the raw path or query
string: the series stay as many as the routes, whatever clients send. The method label is bounded the
same way."""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cerebro_serve.services.metrics import Metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def count_requests(app: ASGIApp, metrics: Metrics) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 500  # what the server answers if the app raises past every handler

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, sending)
        finally:
            method: str = scope["method"]  # type: ignore[typeddict-item]  # an http scope (checked above)
            method = method if method in METHODS else "other"
            metrics.request(scope.get("path_template"), method, status, time.perf_counter() - started)

    return wrapped
