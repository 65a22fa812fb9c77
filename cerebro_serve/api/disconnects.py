"""An ASGI middleware that marks a request abandoned (cerebro_serve.cancellation) when its client
disconnects after sending its body, so the services stop spending encoder time on it and store nothing."""

from __future__ import annotations

import asyncio

from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from cerebro_serve.cancellation import watched


def watch_disconnects(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body_read = asyncio.Event()

        async def receiving() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                body_read.set()
            return message

        with watched() as gone:

            async def listen() -> None:
                # Once the app has the whole body, the next message the server sends is the disconnect.
                await body_read.wait()
                if (await receive())["type"] == "http.disconnect":
                    gone.set()

            listener = asyncio.ensure_future(listen())
            try:
                await app(scope, receiving, send)
            finally:
                listener.cancel()

    return middleware
