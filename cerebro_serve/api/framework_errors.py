"""An ASGI middleware for the few errors Litestar answers without our exception handler (the OpenAPI
controller's HTML 404 for an unknown `/docs/*` page): an error that is not already our JSON envelope
leaves as one, so every error a client can get reads the same way."""

from __future__ import annotations

import msgspec
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from cerebro_serve.api.envelope import HTTP_MESSAGES, JSON


def envelope_framework_errors(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        replaced: list[int] = []  # the status of an error being replaced, while its body goes by

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.split(b";")[0].strip() != JSON.encode():
                    replaced.append(message["status"])
                    return
            if replaced and message["type"] == "http.response.body":
                if message.get("more_body"):
                    return  # the framework's page, dropped
                await _send_envelope(send, replaced[0], str(scope["path"]))
                return
            await send(message)

        await app(scope, receive, sending)

    return middleware


async def _send_envelope(send: Send, status: int, path: str) -> None:
    title = HTTP_MESSAGES.get(status, "Error")
    message = f"{title}. no page {path}" if status == 404 else title
    body = msgspec.json.encode({"code": status, "message": message})
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
