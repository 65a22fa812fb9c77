"""`GET /metrics`: the workspace's metrics in Prometheus's text format (services/metrics.py).

Without a key, like the probes: Prometheus scrapes with no credentials by convention, and nothing here is
about a person (route templates, statuses, pool and algorithm keys, counts, score histograms). Expose it to
the monitoring network only. It is not the envelope but Prometheus's format, so, like the documentation's
own pages, it stays out of the OpenAPI document."""

from __future__ import annotations

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from cerebro_serve.api.routes.common import call, workspace_of


@get("/metrics", name="metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    body = await call(workspace_of(request).metrics.exposition)  # reads the store: off the event loop
    return Response(content=body, status_code=200, media_type=CONTENT_TYPE_LATEST)
