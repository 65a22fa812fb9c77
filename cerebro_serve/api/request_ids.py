"""An ASGI middleware that gives each request an id (the client's `X-Request-ID` when it is a sane one,
else a new one), makes it the id of every log line written while the request is served, and answers
with it, so a client's report and the server's logs meet."""

from __future__ import annotations

import re
import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cerebro_serve.logs import REQUEST_ID

HEADER = b"x-request-id"
SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def tag_requests(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), b"")
        request_id = given.decode() if SANE.match(given) else uuid.uuid4().hex

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)

    return middleware
