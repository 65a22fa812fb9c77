"""Probes for orchestrators, outside `/v1` and without a key: `/healthz` (the process answers) and
`/readyz` (the workspace has loaded what requests need, so traffic may come)."""

from __future__ import annotations

from litestar import Request, Response, get

from cerebro_serve.api.contract import public
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.routes.common import workspace_of


@get(
    "/healthz",
    opt=public(),
    name="healthz",
    tags=["probes"],
    summary="Liveness: the process answers",
    sync_to_thread=False,
)
def healthz() -> Response:
    return envelope(200, "alive")


@get(
    "/readyz",
    opt=public(errors=(503,)),
    name="readyz",
    tags=["probes"],
    summary="Readiness: 503 until warm-up is done",
    sync_to_thread=False,
)
def readyz(request: Request) -> Response:
    workspace = workspace_of(request)
    if workspace.ready.is_set():
        return envelope(200, "ready")
    if workspace.warm_up_error is not None:
        return envelope(503, f"Service Unavailable. Warm-up failed: {workspace.warm_up_error}")
    return envelope(503, "Service Unavailable. Warming up: loading the skills lexicon.")
