"""Scoring and searching, by GET (query string, SDK 4.3) or POST (JSON body, newer SDKs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.contract import reads
from cerebro_serve.api.copilot_scope import open_to, scoped
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import CopilotType
from cerebro_serve.services.explanations import Explanation
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import (
    EXPLAIN_NEEDS_A_SCORE,
    RELEVANCE_NEEDS_KEYWORDS,
    JobsMatchingQuery,
    JobsScoringQuery,
    JobsSearchingQuery,
    ProfilesMatchingQuery,
    ProfilesScoringQuery,
    ProfilesSearchingQuery,
)


async def _parameters(request: Request) -> dict[str, Any]:
    return await json_body(request) if request.method == "POST" else dict(request.query_params.items())


def _ranking_handler(
    path: str,
    items: str,
    message: str,
    query_type: type[Any],
    use_case: Callable[[Workspace], Callable[[Any], Page]],
    anchor: tuple[str, ...] = (),
    explains: bool = False,
    manual: bool = False,
    copilot_type: CopilotType | None = None,
) -> HTTPRouteHandler:
    """`anchor`: the fields naming the record scored or matched against (at least one is needed); a
    search has none, and sorts by relevance only with keywords. `manual`: the route takes `include_manual`.
    `copilot_type`: the copilot whose partner tokens may call the route (the one its pages rank with)."""
    rules = (EXPLAIN_NEEDS_A_SCORE,) if explains else () if anchor else (RELEVANCE_NEEDS_KEYWORDS,)
    # `predictions`: per item, the algorithm's [P(no match), P(match)], when an algorithm scored them;
    # `explanations`: per item, with `explain=true` on a scoring route.
    # `manual_review`: per item, with `include_manual`: listed for a person to review, its prediction null.
    prediction: Any = list[float] | None if manual else list[float]
    explanation: Any = Explanation | None if manual else Explanation
    fields: list[Any] = [(items, list[Any]), ("predictions", list[prediction] | None, None)]
    if explains:
        fields.append(("explanations", list[explanation] | None, None))
    if manual:
        fields.append(("manual_review", list[bool] | None, None))
    answer = msgspec.defstruct(f"{items.title()}{path.rsplit('/', 1)[1].title()}", fields, kw_only=True)

    @route(
        path,
        http_method=["GET", "POST"],
        opt=open_to(
            reads(
                query=query_type,
                body=query_type,
                any_of=(anchor,) if anchor else (),
                body_rules=rules,
                answers={200: answer},
                paged=True,
                encodes=True,
                errors=(409,) if anchor else (),  # scoring, matching: the algorithm was stopped (kill switch)
            ),
            *((copilot_type,) if copilot_type else ()),
        ),
        name=path.strip("/").replace("/", "-"),
        tags=["ranking"],
        summary=message.replace(" results", ""),
        description="Parameters as a query string (GET, lists as JSON strings) or a JSON body (POST).",
    )
    async def rank(request: Request) -> Response:
        query = scoped(request, convert(await _parameters(request), query_type))
        page = await call(use_case(workspace_of(request)), query)
        data: dict[str, Any] = {items: page.items}
        if page.predictions is not None:
            data["predictions"] = page.predictions
        if page.explanations is not None:
            data["explanations"] = page.explanations
        if page.manual_review is not None:
            data["manual_review"] = page.manual_review
        return envelope(200, message, data, page.meta)

    return rank


def ranking_handlers() -> list[HTTPRouteHandler]:
    return [
        _ranking_handler(
            "/profiles/scoring",
            "profiles",
            "Profile scoring results",
            ProfilesScoringQuery,
            lambda workspace: workspace.ranking.score_profiles,
            ("job_key", "job_reference"),
            explains=True,
            manual=True,
            copilot_type="recruiter",
        ),
        _ranking_handler(
            "/jobs/scoring",
            "jobs",
            "Job scoring results",
            JobsScoringQuery,
            lambda workspace: workspace.ranking.score_jobs,
            ("profile_key", "profile_reference"),
            explains=True,
            copilot_type="talent",
        ),
        _ranking_handler(
            "/profiles/matching",
            "profiles",
            "Profile Matching results",
            ProfilesMatchingQuery,
            lambda workspace: workspace.ranking.match_profiles,
            ("profile_key", "profile_reference"),
        ),
        _ranking_handler(
            "/jobs/matching",
            "jobs",
            "Job Matching results",
            JobsMatchingQuery,
            lambda workspace: workspace.ranking.match_jobs,
            ("job_key", "job_reference"),
        ),
        _ranking_handler(
            "/profiles/searching",
            "profiles",
            "Profile searching results",
            ProfilesSearchingQuery,
            lambda workspace: workspace.ranking.search_profiles,
        ),
        _ranking_handler(
            "/jobs/searching",
            "jobs",
            "Job searching results",
            JobsSearchingQuery,
            lambda workspace: workspace.ranking.search_jobs,
        ),
    ]
