"""GET /v1/auth: which key the caller holds and what it may do."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from cerebro_serve.api.contract import reads
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.routes.common import workspace_of


@get(
    "/auth",
    opt=reads(answers={200: dict[str, Any]}),
    tags=["auth"],
    summary="Which key the caller holds and what it may do",
    sync_to_thread=False,
)
def check_auth(request: Request) -> Response:
    permission = workspace_of(request).keys.permission(request.headers.get("x-api-key"))
    data = {
        "team_name": "cerebro",
        "team_subdomain": "cerebro",
        "request_origin": request.client.host if request.client else None,
        "api_key_permission": permission,
        "api_secret_permission": permission,
    }
    return envelope(200, "API Access Success", data)
