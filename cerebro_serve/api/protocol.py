"""The HTTP/1.1 protocol the server runs: uvicorn's h11 one, whose own refusals (headers over h11's
16 KiB, a malformed request line) leave as our JSON envelope instead of plain text. They never reach the
app, so the app's error handler cannot word them."""

from __future__ import annotations

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
    def send_400_response(self, msg: str) -> None:
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
        self.transport.write(self.conn.send(h11.Data(data=REFUSAL)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
