"""Probes for orchestrators, outside `/v1` and without a key: `/healthz` (the process answers) and
`/readyz` (the workspace has loaded what requests need and its store answers, so traffic may come)."""

from __future__ import annotations

from litestar import Request, Response, get

from cerebro_serve.api.contract import public
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.routes.common import call, workspace_of


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
    summary="Readiness: 503 while warming up or while the store does not answer",
)
async def readyz(request: Request) -> Response:
    problem = await call(workspace_of(request).unready)
    if problem is None:
        return envelope(200, "ready")
    return envelope(503, f"Service Unavailable. {problem}")
