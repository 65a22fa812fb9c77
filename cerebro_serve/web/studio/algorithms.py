"""My Algorithms: the marketplace's bases, the workspace's forks and the fork form (a journey of conversion
goals), and each algorithm's overview: its versions with their metrics and plots, two versions compared,
rollback, the workspace default, the kill switch, and the release of versions the gate held."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from cerebro_serve.services.algorithms import learned_view
from cerebro_serve.services.errors import ServiceError
from cerebro_serve.services.queries import (
    AlgorithmCreate,
    AlgorithmListQuery,
    AlgorithmRelease,
    AlgorithmRestore,
    AlgorithmStop,
)
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.i18n import translator
from cerebro_serve.web.render import language, render
from cerebro_serve.web.studio.algorithm_charts import comparison_chart, version_charts
from cerebro_serve.web.studio_session import back, flash, require_admin, signed_in_key

ROLES = ("recruiter", "manager", "employee", "candidate")
OUTCOMES = ("positive", "neutral", "negative")
STAGE_ROWS = 5  # stage rows the fork form offers without script; studio.js adds more
FLASH = "algorithms_flash"


@get("/algorithms", guards=[require_admin])
async def algorithms_page(request: Request) -> Template:
    return await _list_page(request, FormMultiDict(), None)


@post("/algorithms", guards=[require_admin])
async def fork(request: Request) -> Template | Redirect:
    form = await request.form()
    _ = translator(language(request)).gettext
    if not (form.get("name") or "").strip():
        return await _list_page(request, form, _("Give the algorithm a name."), 400)
    goals = [
        {"action": action.strip(), "outcome": outcome}
        for action, outcome in zip(form.getall("goal_action", []), form.getall("goal_outcome", []), strict=False)
        if action.strip()
    ]
    body = {
        "base": form.get("base"),
        "name": form.get("name", "").strip(),
        "labeller_role": form.get("labeller_role"),
        "description": (form.get("description") or "").strip() or None,
        "goals": goals or None,
    }
    try:
        created = await call(workspace_of(request).algorithms.fork, msgspec.convert(body, AlgorithmCreate))
    except (msgspec.ValidationError, ServiceError) as error:
        detail = error.detail if isinstance(error, ServiceError) else str(error)
        return await _list_page(request, form, _("The algorithm was not created: {detail}", detail=detail), 400)
    return back(request, f"/studio/algorithms/{created['key']}", FLASH, done="fork")


async def _list_page(request: Request, form: Any, error: str | None, status: int = 200) -> Template:
    workspace = workspace_of(request)
    page = _page_number(request)
    listed = await call(workspace.algorithms.list, AlgorithmListQuery(page=page, limit=30))
    stages = [
        (action, outcome)
        for action, outcome in zip(form.getall("goal_action", []), form.getall("goal_outcome", []), strict=False)
        if action.strip()
    ]
    stages += [("", "neutral")] * max(STAGE_ROWS - len(stages), 1)
    return render(
        request,
        "studio/algorithms.html",
        status=status,
        section="algorithms",
        marketplace=await call(workspace.algorithms.marketplace),
        algorithms=listed.items,
        page=page,
        max_page=max(1, -(-listed.total // listed.limit)),
        page_url=lambda page: f"/studio/algorithms?{urlencode({'lang': language(request), 'page': page})}",
        form=form,
        stages=stages,
        roles=ROLES,
        outcomes=OUTCOMES,
        error=error,
    )


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


@get("/algorithms/{key:str}", guards=[require_admin])
async def overview(request: Request) -> Template:
    key = request.path_params["key"]
    lang = language(request)
    algorithm = await call(workspace_of(request).algorithms.get, key)
    if algorithm.get("built_in"):
        return render(request, "error.html", status=404, error_status=404, detail="There is no such page.")
    versions = algorithm["versions"]
    chosen = _version_param(request, "version", versions) or _latest_with_metrics(versions)
    shown = next((v for v in versions if v["version"] == chosen), None)
    return render(
        request,
        "studio/algorithm_overview.html",
        section="algorithms",
        algorithm=algorithm,
        shown=shown,
        charts=version_charts(shown, lang) if shown and shown["metrics"] else [],
        learned=learned_view(shown, lang) if shown else None,
        flash=flash(request, FLASH),
    )


@get("/algorithms/{key:str}/compare", guards=[require_admin])
async def compare(request: Request) -> Template:
    algorithm = await call(workspace_of(request).algorithms.get, request.path_params["key"])
    if algorithm.get("built_in"):
        return render(request, "error.html", status=404, error_status=404, detail="There is no such page.")
    versions = algorithm["versions"]
    first, second = _version_param(request, "a", versions), _version_param(request, "b", versions)
    if first is None or second is None:
        _ = translator(language(request)).gettext
        detail = _("Choose two versions of this algorithm to compare.")
        return render(request, "error.html", status=400, error_status=400, detail=detail)
    pair = [next(v for v in versions if v["version"] == number) for number in (first, second)]
    return render(
        request,
        "studio/algorithm_compare.html",
        section="algorithms",
        algorithm=algorithm,
        pair=pair,
        chart=comparison_chart(pair, language(request)),
    )


def _version_param(request: Request, name: str, versions: list[dict[str, Any]]) -> int | None:
    raw = request.query_params.get(name, "")
    numbers = {v["version"] for v in versions}
    return int(raw) if raw.isdigit() and int(raw) in numbers else None


def _latest_with_metrics(versions: list[dict[str, Any]]) -> int | None:
    with_metrics = [v["version"] for v in versions if v["metrics"]]
    return with_metrics[-1] if with_metrics else None


@post("/algorithms/{key:str}/action", guards=[require_admin])
async def act(request: Request) -> Redirect:
    """Every action on one algorithm posts here with its name; a refusal comes back on the overview."""
    key = request.path_params["key"]
    form = await request.form()
    action = form.get("action", "")
    algorithms = workspace_of(request).algorithms
    audit = workspace_of(request).audit
    try:
        if action == "rollback":
            await call(algorithms.rollback, key, int(form.get("version", "0") or 0))
        elif action == "default":
            await call(algorithms.set_default, key if form.get("default") == "on" else None)
        elif action == "stop":
            stop = msgspec.convert(
                {"algorithm_key": key, "fallback": form.get("fallback"), "reason": form.get("reason", "").strip()},
                AlgorithmStop,
            )
            await call(algorithms.stop, stop, audit.key_id(signed_in_key(request)), None)
        elif action == "restore":
            restore = msgspec.convert(
                {"algorithm_key": key, "reason": form.get("reason", "").strip()}, AlgorithmRestore
            )
            await call(algorithms.restore, restore)
        elif action == "release":
            body = {"algorithm_key": key, "version": int(form.get("version", "0") or 0), "reason": form.get("reason")}
            released = msgspec.convert(body, AlgorithmRelease)
            await call(algorithms.release, released, audit.key_id(signed_in_key(request)))
        else:
            return back(request, f"/studio/algorithms/{key}", FLASH, error=f"unknown action {action[:40]!r}")
    except (msgspec.ValidationError, ServiceError, ValueError) as error:
        detail = error.detail if isinstance(error, ServiceError) else str(error)
        return back(request, f"/studio/algorithms/{key}", FLASH, error=detail)
    return back(request, f"/studio/algorithms/{key}", FLASH, done=action)


algorithm_handlers = [algorithms_page, fork, overview, compare, act]
