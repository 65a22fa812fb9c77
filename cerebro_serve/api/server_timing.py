"""The `Server-Timing` header on every API answer: the stages a request went through (cerebro_serve.timing)
and its total, in milliseconds, so a client, a browser's developer tools or a load test sees where a slow
request spent its time (waiting in line, looking up its anchor, filtering, retrieving, re-ranking,
loading records, garbage collection) without server logs."""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cerebro_serve.api.admission import is_api_call
from cerebro_serve.timing import timed_request


def time_requests(app: ASGIApp) -> ASGIApp:
    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api_call(scope):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        with timed_request() as stages:

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    total = (time.perf_counter() - started) * 1000
                    parts = [f"{name};dur={ms:.2f}" for name, ms in stages.items()] + [f"total;dur={total:.2f}"]
                    headers = list(message.get("headers", []))
                    headers.append((b"server-timing", ", ".join(parts).encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, sending)

    return timed
