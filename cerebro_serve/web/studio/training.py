"""The Training tab of an algorithm: filters, a review of the data a training would read (before it is
queued), launch, and the queue with progress and cancel (studio.js refreshes the queue fragment)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Template

from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services.errors import ServiceError
from cerebro_serve.services.queries import PoolListQuery, TrainingCreate
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.render import render
from cerebro_serve.web.studio.algorithms import FLASH
from cerebro_serve.web.studio_session import back, flash, require_admin

POOLS = PoolListQuery(limit=1000)  # the filters' choices: every source and board
FILTERS = ("mode", "source_keys", "board_keys", "created_at_min", "created_at_max")


def _request(key: str, values: Any) -> TrainingCreate:
    """The filters of the form (or query) as the training's request; dates are whole days."""
    body: dict[str, Any] = {"algorithm_key": key, "mode": values.get("mode") or "rating"}
    for name in ("source_keys", "board_keys"):
        keys = [k.strip() for k in values.getall(name, []) if k.strip()]
        if keys:
            body[name] = keys
    for name, time in (("created_at_min", "00:00:00"), ("created_at_max", "23:59:59")):
        if values.get(name):
            body[name] = f"{values.get(name)}T{time}+00:00"
    return msgspec.convert(body, TrainingCreate)


@get("/algorithms/{key:str}/training", guards=[require_admin])
async def training_page(request: Request) -> Template:
    key = request.path_params["key"]
    workspace = workspace_of(request)
    algorithm = await call(workspace.algorithms.get, key)
    if algorithm.get("built_in"):
        return render(request, "error.html", status=404, error_status=404, detail="There is no such page.")
    params = request.query_params
    preview, error, outcome = None, None, flash(request, FLASH)
    if params.get("review"):
        try:
            preview = await call(workspace.training.preview, _request(key, params))
        except (msgspec.ValidationError, ServiceError) as failure:
            error = failure.detail if isinstance(failure, ServiceError) else str(failure)
    return render(
        request,
        "studio/training.html",
        status=400 if error else 200,
        section="algorithms",
        algorithm=algorithm,
        sources=(await call(workspace.pools.list, PROFILE, POOLS)).items,
        boards=(await call(workspace.pools.list, JOB, POOLS)).items,
        chosen={name: params.getall(name, []) for name in FILTERS},
        preview=preview,
        error=error or outcome.get("error"),
        done=outcome.get("done"),
        trainings=await call(workspace.training.recent, key),
    )


@post("/algorithms/{key:str}/training", guards=[require_admin])
async def launch(request: Request) -> Redirect:
    key = request.path_params["key"]
    form = await request.form()
    path = f"/studio/algorithms/{key}/training"
    try:
        await call(workspace_of(request).training.start, _request(key, form), "studio")
    except (msgspec.ValidationError, ServiceError) as failure:
        return back(request, path, FLASH, error=failure.detail if isinstance(failure, ServiceError) else str(failure))
    return back(request, path, FLASH, done="launch")


@post("/algorithms/{key:str}/training/cancel", guards=[require_admin])
async def cancel(request: Request) -> Redirect:
    key = request.path_params["key"]
    form = await request.form()
    path = f"/studio/algorithms/{key}/training"
    try:
        await call(workspace_of(request).training.cancel, form.get("training_key", ""))
    except ServiceError as failure:
        return back(request, path, FLASH, error=failure.detail)
    return back(request, path, FLASH, done="cancel")


@get("/algorithms/{key:str}/training/queue", guards=[require_admin])
async def queue(request: Request) -> Template:
    """The queue alone, for studio.js to swap in while a training runs."""
    key = request.path_params["key"]
    return render(
        request,
        "studio/training_queue.html",
        algorithm={"key": key},
        trainings=await call(workspace_of(request).training.recent, key),
    )


training_handlers = [training_page, launch, cancel, queue]
