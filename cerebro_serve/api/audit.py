"""An ASGI middleware that hands every `/v1` exchange to the audit trail (services/audit.py): refused and
failed requests too, since it wraps everything the app answers. It copies what it needs as bytes (a JSON
body up to `MAX_KEPT`, the answer up to the same) and returns; the trail's thread makes the event."""

from __future__ import annotations

import time

from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from cerebro_serve.services.audit import Exchange

MAX_KEPT = 1 << 20  # bodies past this are recorded without their content


def record_exchanges(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        json_request = "json" in headers.get("content-type", "json")
        request, response = bytearray(), bytearray()
        status = 500  # what the server answers if the app raises past every handler

        async def receiving() -> ReceiveMessage:
            message = await receive()
            if json_request and message["type"] == "http.request" and len(request) <= MAX_KEPT:
                request.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(response) <= MAX_KEPT:
                response.extend(message.get("body", b""))
            await send(message)

        at_us, started = time.time_ns() // 1000, time.perf_counter()
        try:
            await app(scope, receiving, sending)
        finally:
            scope["app"].state.workspace.audit.record(
                Exchange(
                    at_us=at_us,
                    method=scope["method"],  # type: ignore[typeddict-item]  # an http scope (checked above)
                    path=scope["path"],
                    query=scope["query_string"].decode("latin-1"),
                    api_key=headers.get("x-api-key"),
                    user=headers.get("x-user-email"),
                    request_json=bytes(request) if len(request) <= MAX_KEPT else b"",
                    status=status,
                    latency_us=int((time.perf_counter() - started) * 1e6),
                    response_json=bytes(response) if len(response) <= MAX_KEPT else b"",
                )
            )

    return middleware
