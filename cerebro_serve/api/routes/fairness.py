"""Fairness: profiles' protected attributes (`/v1/fairness/attributes`, reading them needs an admin key:
they are sensitive data), and audits of an algorithm version (`/v1/algorithm/audit`), queued like
trainings, reported as JSON ready to plot or as an HTML page for an auditor."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post

from cerebro_serve.api.contract import admin, reads, writes
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.api.routes.feedback import Rejected
from cerebro_serve.services.queries import (
    ATTRIBUTES_RULES,
    AttributesCreate,
    AttributesQuery,
    FairnessAuditCreate,
    FairnessAuditKey,
    FairnessAuditQuery,
)

TAGS = ["fairness"]
PROFILE_LOOKUP = (("profile_key", "profile_reference"),)


class AttributesImport(msgspec.Struct):
    stored: int
    rejected: list[Rejected]


AttributeLines = Annotated[
    str,
    msgspec.Meta(
        pattern=r"\S",
        description="JSON Lines: one `{source_key, profile_key|profile_reference, gender, ethnicity, age_band, "
        "location}` per line",
    ),
]


@post(
    "/fairness/attributes",
    opt=writes(
        body=AttributesCreate,
        body_rules=ATTRIBUTES_RULES,
        answers={200: dict[str, int]},
        errors=(404,),
        example={
            "source_key": "a-source-key",
            "attributes": [{"profile_reference": "cand-1", "gender": "female", "age_band": "25-34"}],
        },
    ),
    tags=TAGS,
    summary="Set profiles' protected attributes (self-declared or audit data), kept apart from the profiles",
    description=(
        "Each entry replaces what its profile had; a field null or left out is unknown. `age_band` is one of "
        "under 18, 18-24, 25-34, 35-44, 45-54, 55-64, 65+. The attributes never reach features, embeddings, "
        "training or explanations: only fairness audits read them. An unknown profile refuses the whole "
        "request (404, naming the entry)."
    ),
)
async def set_attributes(request: Request) -> Response:
    payload = convert(await json_body(request), AttributesCreate, strict=True)
    stored = await call(workspace_of(request).fairness.set_attributes, payload)
    return envelope(200, "Protected attributes saved", stored)


@post(
    "/fairness/attributes/import",
    opt=writes(body=AttributeLines, body_media="application/x-ndjson", answers={200: AttributesImport}),
    tags=TAGS,
    summary="Protected attributes in bulk as JSONL; each line is stored or rejected with its reason",
)
async def import_attributes(request: Request) -> Response:
    lines = (await request.body()).splitlines()
    report = await call(workspace_of(request).fairness.import_lines, lines)
    rejected = [Rejected(line=number, message=reason) for number, reason in report.rejected]
    return envelope(200, "Protected attributes imported", AttributesImport(stored=report.stored, rejected=rejected))


@get(
    "/fairness/attributes",
    opt=admin(query=AttributesQuery, any_of=PROFILE_LOOKUP, answers={200: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="A profile's protected attributes (admin keys only: sensitive data)",
)
async def get_attributes(request: Request) -> Response:
    query = decode_query(request, AttributesQuery)
    attributes = await call(workspace_of(request).fairness.get_attributes, query)
    return envelope(200, "Protected attributes", attributes)


@post(
    "/algorithm/audit",
    opt=writes(
        body=FairnessAuditCreate,
        answers={201: dict[str, Any]},
        example={"algorithm_key": "cerebro-base", "source_keys": ["a-source-key"], "board_keys": ["a-board-key"]},
    ),
    tags=TAGS,
    summary="Queue a fairness audit of an algorithm version → `audit_key`",
    description=(
        "Every job of `board_keys` ranks the profiles of `source_keys` with the version (the active one unless "
        "`version` is given): LL144 scoring rates and impact ratios per protected attribute and for gender × "
        "ethnicity, the four-fifths flag with Fisher's exact test, demographic parity, and exposure in each "
        "job's top-k (`top_k`, 10). When a training produced the version, its validation data adds data "
        "fairness (label rates) and equalized odds. Only profiles with attributes whose consent allows "
        "improving the model count."
    ),
)
async def start_audit(request: Request) -> Response:
    payload = convert(await json_body(request), FairnessAuditCreate, strict=True)
    audit = await call(workspace_of(request).fairness.start, payload)
    return envelope(201, "Fairness audit queued", audit)


@get(
    "/algorithm/audit",
    opt=reads(query=FairnessAuditQuery, answers={200: dict[str, Any]}, errors=(404, 409), exports_html=True),
    tags=TAGS,
    summary="A fairness audit's status, progress and report (`format=html`: the report as a page)",
    description=(
        "`report` holds the figures ready to plot. `format=html` answers the succeeded audit's report as one "
        "self-contained HTML page (tables, charts, the method, the data's dates) to hand to an auditor; 409 "
        "while the audit has not succeeded."
    ),
)
async def get_audit(request: Request) -> Response:
    query = decode_query(request, FairnessAuditQuery)
    fairness = workspace_of(request).fairness
    if query.format == "html":
        page = await call(fairness.html, query.audit_key)
        return Response(content=page, status_code=200, media_type="text/html; charset=utf-8")
    audit = await call(fairness.get, query.audit_key)
    return envelope(200, "Fairness audit", audit)


@post(
    "/algorithm/audit/cancel",
    opt=writes(body=FairnessAuditKey, answers={200: dict[str, Any]}, errors=(404, 409)),
    tags=TAGS,
    summary="Cancel a queued or running fairness audit",
)
async def cancel_audit(request: Request) -> Response:
    payload = convert(await json_body(request), FairnessAuditKey, strict=True)
    audit = await call(workspace_of(request).fairness.cancel, payload.audit_key)
    return envelope(200, "Fairness audit cancelled", audit)


fairness_handlers = [set_attributes, import_attributes, get_attributes, start_audit, get_audit, cancel_audit]
