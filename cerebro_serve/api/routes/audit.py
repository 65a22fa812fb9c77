"""`GET /v1/audit`: the audit trail, for admin keys: a page of events newest first, or every matching
event oldest first as JSON lines (`format=jsonl`) to hand to an auditor."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from cerebro_serve.api.contract import admin
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import decode_query
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.services.queries import AuditQuery


def _jsonl(events: Any) -> bytes:
    return b"".join(msgspec.json.encode(event) + b"\n" for event in events)


@get(
    "/audit",
    opt=admin(query=AuditQuery, answers={200: list[dict[str, Any]]}, paged=True, exports_lines=True),
    name="list-audit-events",
    tags=["audit"],
    summary="The audit trail: one event a request, chained by hashes",
    description=(
        "Each event: time, a digest of the key, the hashed X-USER-EMAIL, method and route, parameters "
        "(personal values as keyed hashes), status, latency, the algorithm version that answered and the "
        "keys and scores returned, with its `previous_hash` and `hash`. `format=jsonl` returns every "
        "matching event, oldest first, as `application/x-ndjson`."
    ),
)
async def list_audit_events(request: Request) -> Response:
    query = decode_query(request, AuditQuery)
    trail = workspace_of(request).audit
    await call(trail.flush)  # what was asked just before is in the answer
    if query.format == "jsonl":
        body = await call(lambda: _jsonl(trail.export(query)))
        return Response(content=body, status_code=200, media_type="application/x-ndjson")
    page = await call(trail.page, query)
    return envelope(200, "Audit events", page.items, page.meta)
