"""Ratings and trackings (HrFlow's Signal API): `POST /v1/rating|tracking`, `GET /v1/ratings|trackings`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.contract import reads, writes
from cerebro_serve.api.copilot_scope import open_to, scoped
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, json_body
from cerebro_serve.api.routes.common import call, workspace_of, written
from cerebro_serve.services.feedback import RATING, TRACKING
from cerebro_serve.services.queries import FeedbackListQuery, RatingCreate, TrackingCreate

TAGS = ["feedback"]
LINKED = (("profile_key", "profile_reference"), ("job_key", "job_reference"))  # which profile, which job


class Rejected(msgspec.Struct):
    line: int
    message: str


class ImportReport(msgspec.Struct):
    stored: int
    duplicates: int
    rejected: list[Rejected]


# The body of an import is JSON Lines (one POST body per line), not one JSON value.
ImportLines = Annotated[
    str, msgspec.Meta(pattern=r"\S", description="JSON Lines: one rating or tracking body per line")
]


def _handlers(kind: str, request_type: type[Any], title: str) -> list[HTTPRouteHandler]:
    @post(
        f"/{kind}",
        # A candidate's trackings come from both copilots' pages; ratings are the recruiter's.
        opt=open_to(
            writes(body=request_type, body_any_of=LINKED, answers={201: dict[str, Any]}),
            *(("recruiter",) if kind == RATING else ("talent", "recruiter")),
        ),
        name=f"post-{kind}",
        tags=TAGS,
        summary=f"Record a {kind}; stored durably before the reply",
    )
    async def post_feedback(request: Request) -> Response:
        payload = scoped(request, convert(await json_body(request), request_type))
        feedback = workspace_of(request).feedback
        item = await call(feedback.rate if kind == RATING else feedback.track, payload)
        return written(request, 201, f"{title} saved", item, item["key"])

    @get(
        f"/{kind}s",
        opt=reads(query=FeedbackListQuery, answers={200: list[dict[str, Any]]}, paged=True),
        name=f"list-{kind}s",
        tags=TAGS,
        summary=f"{title}s by role, pools, records, dates",
    )
    async def list_feedback(request: Request) -> Response:
        query = convert(dict(request.query_params.items()), FeedbackListQuery)
        page = await call(workspace_of(request).feedback.list, kind, query)
        return envelope(200, f"{title}s list", page.items, page.meta)

    @post(
        f"/{kind}s/import",
        opt=writes(body=ImportLines, body_media="application/x-ndjson", answers={200: ImportReport}),
        name=f"import-{kind}s",
        tags=TAGS,
        summary=f"Historical {kind}s as JSONL (one POST /{kind} body per line); a rerun stores only what is new",
    )
    async def import_feedback(request: Request) -> Response:
        lines = (await request.body()).splitlines()
        report = await call(workspace_of(request).feedback.import_lines, kind, lines)
        rejected = [Rejected(line=number, message=reason) for number, reason in report.rejected]
        data = ImportReport(stored=report.stored, duplicates=report.duplicates, rejected=rejected)
        return envelope(200, f"{title}s imported", data)

    return [post_feedback, list_feedback, import_feedback]


feedback_handlers = [*_handlers(RATING, RatingCreate, "Rating"), *_handlers(TRACKING, TrackingCreate, "Tracking")]
