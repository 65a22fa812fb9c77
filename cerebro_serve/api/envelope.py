"""The HrFlow envelope `{code, message, data?, meta?}` for every answer, errors included.

`Content-Type` is exactly `application/json`: the hrflow SDK discards any body whose type carries a
charset or anything else.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response.base import ASGIResponse

from cerebro_serve.cancellation import Abandoned
from cerebro_serve.services.errors import BatcherClosed, QueueFull, ServiceError

log = logging.getLogger(__name__)

JSON = "application/json"
_encoder = msgspec.json.Encoder()

HTTP_MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def raw_envelope(code: int, message: str, headers: dict[str, str]) -> ASGIResponse:
    """An error envelope for ASGI middleware that answers before any route (no Litestar request yet)."""
    return ASGIResponse(
        body=_encoder.encode({"code": code, "message": message}), status_code=code, media_type=JSON, headers=headers
    )


def envelope(code: int, message: str, data: Any = None, meta: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    if meta is not None:
        body["meta"] = meta
    return Response(content=_encoder.encode(body), status_code=code, media_type=JSON)


def error_envelope(request: Request, error: Exception) -> Response:
    """The one exception handler: service errors, framework errors and bugs all leave as envelopes."""
    if isinstance(error, ServiceError):
        return envelope(error.status, error.message)
    if isinstance(error, Abandoned):  # nobody reads this answer; the status says why the work stopped
        return envelope(499, "Client Closed Request. The work stopped and nothing was stored.")
    if isinstance(error, BatcherClosed):  # admitted work finishes; this request came after the drain began
        return envelope(503, "Service Unavailable. The server is shutting down; send the request again.")
    if isinstance(error, QueueFull):
        retry_after = max(1, math.ceil(error.retry_after))
        response = envelope(429, f"Too Many Requests. The encoder is saturated ({error}); retry in {retry_after} s.")
        response.headers["Retry-After"] = str(retry_after)
        return response
    if isinstance(error, HTTPException):
        status = error.status_code
        title = HTTP_MESSAGES.get(status, "Error")
        detail = error.detail if error.detail and error.detail != title else ""
        if status == 404 and not detail:
            detail = f"no route {request.method} {request.url.path}"
        if status == 405 and not detail:
            detail = f"{request.method} is not allowed on {request.url.path}"
        response = envelope(status, f"{title}. {detail}".rstrip(". ").rstrip() if detail else title)
        response.headers.update(error.headers or {})  # a 405's Allow, for one
        return response
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return envelope(500, "Internal Server Error. The error was logged on the server.")
