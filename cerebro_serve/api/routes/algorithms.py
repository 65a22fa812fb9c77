"""Algorithms: the marketplace, forks, versions, rollback, the workspace default, and training."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from cerebro_serve.api.contract import admin, reads, writes
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.services.queries import (
    ALGORITHM_RULES,
    AlgorithmCreate,
    AlgorithmDefault,
    AlgorithmListQuery,
    AlgorithmQuery,
    AlgorithmRelease,
    AlgorithmRestore,
    AlgorithmRollback,
    AlgorithmStop,
    TrainingCreate,
    TrainingQuery,
)

TAGS = ["algorithms"]


@get(
    "/algorithms/marketplace",
    opt=reads(answers={200: list[dict[str, Any]]}),
    tags=TAGS,
    summary="The base algorithms a workspace can fork",
)
async def marketplace(request: Request) -> Response:
    return envelope(200, "Algorithms marketplace", workspace_of(request).algorithms.marketplace())


@post(
    "/algorithm",
    opt=writes(
        body=AlgorithmCreate,
        body_rules=ALGORITHM_RULES,
        answers={201: dict[str, Any]},
        example={"base": "cerebro-base", "name": "Data team", "labeller_role": "recruiter"},
    ),
    tags=TAGS,
    summary="Fork a base algorithm: `{base, name, labeller_role, description?, goals?}` → `algorithm_key`",
)
async def fork_algorithm(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmCreate)
    algorithm = await call(workspace_of(request).algorithms.fork, payload)
    return envelope(201, "Algorithm created", algorithm)


@get(
    "/algorithm",
    opt=reads(query=AlgorithmQuery, answers={200: dict[str, Any]}),
    tags=TAGS,
    summary="An algorithm with its versions and their metrics",
)
async def get_algorithm(request: Request) -> Response:
    query = decode_query(request, AlgorithmQuery)
    algorithm = await call(workspace_of(request).algorithms.get, query.algorithm_key)
    return envelope(200, "Algorithm details", algorithm)


@get(
    "/algorithms",
    opt=reads(query=AlgorithmListQuery, answers={200: list[dict[str, Any]]}, paged=True),
    tags=TAGS,
    summary="The workspace's algorithms",
)
async def list_algorithms(request: Request) -> Response:
    query = decode_query(request, AlgorithmListQuery)
    page = await call(workspace_of(request).algorithms.list, query)
    return envelope(200, "Algorithms list", page.items, page.meta)


@post(
    "/algorithm/rollback",
    opt=writes(body=AlgorithmRollback, answers={200: dict[str, Any]}),
    tags=TAGS,
    summary="Serve an earlier (or later) version again",
)
async def rollback_algorithm(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmRollback)
    algorithm = await call(workspace_of(request).algorithms.rollback, payload.algorithm_key, payload.version)
    return envelope(200, "Algorithm rolled back", algorithm)


@post(
    "/algorithm/release",
    opt=admin(body=AlgorithmRelease, answers={200: dict[str, Any]}, errors=(409,)),
    tags=TAGS,
    summary="Admin override of the release gate: serve a version it held for review, with a stated reason",
    description=(
        "A training whose version treats a group worse (an impact ratio under the four-fifths threshold on a "
        "protected attribute, or fallen too far from the serving version's) ends `held_for_review` and the "
        "version does not serve. This serves it anyway; the reason, the admin key's id and the time are kept "
        "in the version's `review`, and the request is in the audit trail."
    ),
)
async def release_algorithm_version(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmRelease)
    workspace = workspace_of(request)
    admin_key_id = workspace.audit.key_id(request.headers.get("x-api-key"))
    algorithm = await call(workspace.algorithms.release, payload, admin_key_id)
    return envelope(200, "Algorithm version released", algorithm)


@post(
    "/algorithm/default",
    opt=writes(body=AlgorithmDefault, answers={200: dict[str, Any] | None}),
    tags=TAGS,
    summary="The algorithm that answers scoring calls naming none (`algorithm_key: null`: cerebro-base)",
)
async def default_algorithm(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmDefault)
    algorithm = await call(workspace_of(request).algorithms.set_default, payload.algorithm_key)
    return envelope(200, "Default algorithm set", algorithm)


@post(
    "/algorithm/stop",
    opt=admin(
        body=AlgorithmStop,
        answers={200: dict[str, Any]},
        errors=(404,),
        example={"algorithm_key": "cerebro-base", "fallback": "fail", "reason": "impact ratio 0.62 for women"},
    ),
    tags=TAGS,
    summary="Kill switch: stop an algorithm; its calls fall back to the workspace default or fail (409)",
    description=(
        "From the next call on, a call that names the algorithm (or gets it as the workspace default) is "
        "answered by the workspace default with `meta.algorithm_stopped` saying so (`fallback: default`; "
        "cerebro-base when the default is the stopped one or is stopped too), or refused with 409 "
        "(`fallback: fail`, or nothing left to answer). Works for forks and the built-in algorithms; "
        "stopping a stopped algorithm again replaces its fallback and reason. Who, when and why are kept "
        "and shown by `GET /v1/algorithm`; the request is in the audit trail."
    ),
)
async def stop_algorithm(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmStop)
    workspace = workspace_of(request)
    key_id = workspace.audit.key_id(request.headers.get("x-api-key"))
    user = workspace.audit.hashed(request.headers.get("x-user-email"))
    algorithm = await call(workspace.algorithms.stop, payload, key_id, user)
    return envelope(200, "Algorithm stopped", algorithm)


@post(
    "/algorithm/restore",
    opt=admin(body=AlgorithmRestore, answers={200: dict[str, Any]}, errors=(404, 409)),
    tags=TAGS,
    summary="Undo the kill switch: a stopped algorithm serves again (409 when it is not stopped)",
)
async def restore_algorithm(request: Request) -> Response:
    payload = convert(await json_body(request), AlgorithmRestore)
    algorithm = await call(workspace_of(request).algorithms.restore, payload)
    return envelope(200, "Algorithm restored", algorithm)


@post(
    "/algorithm/training",
    opt=writes(body=TrainingCreate, answers={201: dict[str, Any]}),
    tags=TAGS,
    summary="Queue a training: `{algorithm_key, mode: rating|tracking, source_keys?, board_keys?, "
    "created_at_min?, created_at_max?}` → `training_key`",
)
async def start_training(request: Request) -> Response:
    payload = convert(await json_body(request), TrainingCreate)
    training = await call(workspace_of(request).training.start, payload)
    return envelope(201, "Training queued", training)


@get(
    "/algorithm/training",
    opt=reads(query=TrainingQuery, answers={200: dict[str, Any]}),
    tags=TAGS,
    summary="A training's status, progress, data workflow log, and the version and metrics it published",
)
async def get_training(request: Request) -> Response:
    query = decode_query(request, TrainingQuery)
    training = await call(workspace_of(request).training.get, query.training_key)
    return envelope(200, "Training details", training)


@post(
    "/algorithm/training/cancel",
    opt=writes(body=TrainingQuery, answers={200: dict[str, Any]}, errors=(409,)),
    tags=TAGS,
    summary="Cancel a queued or running training",
)
async def cancel_training(request: Request) -> Response:
    payload = convert(await json_body(request), TrainingQuery)
    training = await call(workspace_of(request).training.cancel, payload.training_key)
    return envelope(200, "Training cancelled", training)


algorithm_handlers = [
    marketplace,
    fork_algorithm,
    get_algorithm,
    list_algorithms,
    rollback_algorithm,
    release_algorithm_version,
    default_algorithm,
    stop_algorithm,
    restore_algorithm,
    start_training,
    get_training,
    cancel_training,
]
