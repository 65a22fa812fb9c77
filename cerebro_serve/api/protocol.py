"""The HTTP/1.1 protocol the server runs: uvicorn's h11 one, whose own refusals (headers over h11's
16 KiB, a malformed request line) leave as our JSON envelope instead of plain text. They never reach the
app, so the app's error handler cannot word them.

Every connection gets TCP_NODELAY here. asyncio sets it only on sockets that report IPPROTO_TCP, and the
listening socket uvicorn binds for several workers reports 0 (uvicorn issue #3149), so with
`CEREBRO_WORKERS` > 1 each keep-alive answer waited ~40 ms for the client's delayed ACK (Nagle)."""

from __future__ import annotations

import asyncio
import socket

import h11
import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol

REFUSAL = msgspec.json.encode(
    {
        "code": 400,
        "message": "Bad Request. The request line or headers could not be read: malformed, or over 16 KiB.",
    }
)


class EnvelopedH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def send_400_response(self, msg: str) -> None:
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
        self.transport.write(self.conn.send(h11.Data(data=REFUSAL)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
