"""Ratings and trackings (HrFlow's Signal API): `POST /v1/rating|tracking`, `GET /v1/ratings|trackings`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, json_body
from cerebro_serve.api.routes.common import READ, WRITE, call, workspace_of, written
from cerebro_serve.services.feedback import RATING, TRACKING
from cerebro_serve.services.queries import FeedbackListQuery, RatingCreate, TrackingCreate

TAGS = ["feedback"]


def _handlers(kind: str, request_type: type[Any], title: str) -> list[HTTPRouteHandler]:
    @post(
        f"/{kind}",
        opt=WRITE,
        name=f"post-{kind}",
        tags=TAGS,
        summary=f"Record a {kind}; stored durably before the reply",
    )
    async def post_feedback(request: Request) -> Response:
        payload = convert(await json_body(request), request_type)
        feedback = workspace_of(request).feedback
        item = await call(feedback.rate if kind == RATING else feedback.track, payload)
        return written(request, 201, f"{title} saved", item, item["key"])

    @get(f"/{kind}s", opt=READ, name=f"list-{kind}s", tags=TAGS, summary=f"{title}s by role, pools, records, dates")
    async def list_feedback(request: Request) -> Response:
        query = convert(dict(request.query_params.items()), FeedbackListQuery)
        page = await call(workspace_of(request).feedback.list, kind, query)
        return envelope(200, f"{title}s list", page.items, page.meta)

    @post(
        f"/{kind}s/import",
        opt=WRITE,
        name=f"import-{kind}s",
        tags=TAGS,
        summary=f"Historical {kind}s as JSONL (one POST /{kind} body per line); a rerun stores only what is new",
    )
    async def import_feedback(request: Request) -> Response:
        lines = (await request.body()).splitlines()
        report = await call(workspace_of(request).feedback.import_lines, kind, lines)
        data = {
            "stored": report.stored,
            "duplicates": report.duplicates,
            "rejected": [{"line": number, "message": reason} for number, reason in report.rejected],
        }
        return envelope(200, f"{title}s imported", data)

    return [post_feedback, list_feedback, import_feedback]


feedback_handlers = [*_handlers(RATING, RatingCreate, "Rating"), *_handlers(TRACKING, TrackingCreate, "Tracking")]
