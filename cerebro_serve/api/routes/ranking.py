"""Scoring and searching, by GET (query string, SDK 4.3) or POST (JSON body, newer SDKs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_json
from cerebro_serve.api.routes.common import READ, call, workspace_of
from cerebro_serve.services import Workspace
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import (
    JobsScoringQuery,
    JobsSearchingQuery,
    ProfilesScoringQuery,
    ProfilesSearchingQuery,
)


async def _parameters(request: Request) -> dict[str, Any]:
    if request.method == "POST":
        return decode_json(await request.body())
    return dict(request.query_params.items())


def _ranking_handler(
    path: str, items: str, message: str, query_type: type, use_case: Callable[[Workspace], Callable[[Any], Page]]
) -> HTTPRouteHandler:
    @route(path, http_method=["GET", "POST"], opt=READ, name=path.strip("/").replace("/", "-"))
    async def rank(request: Request) -> Response:
        query = convert(await _parameters(request), query_type)
        page = await call(use_case(workspace_of(request)), query)
        data: dict[str, Any] = {items: page.items}
        if page.predictions is not None:
            data["predictions"] = page.predictions
        return envelope(200, message, data, page.meta)

    return rank


def ranking_handlers() -> list[HTTPRouteHandler]:
    return [
        _ranking_handler(
            "/profiles/scoring", "profiles", "Profile scoring results", ProfilesScoringQuery,
            lambda workspace: workspace.ranking.score_profiles,
        ),
        _ranking_handler(
            "/jobs/scoring", "jobs", "Job scoring results", JobsScoringQuery,
            lambda workspace: workspace.ranking.score_jobs,
        ),
        _ranking_handler(
            "/profiles/searching", "profiles", "Profile searching results", ProfilesSearchingQuery,
            lambda workspace: workspace.ranking.search_profiles,
        ),
        _ranking_handler(
            "/jobs/searching", "jobs", "Job searching results", JobsSearchingQuery,
            lambda workspace: workspace.ranking.search_jobs,
        ),
    ]
