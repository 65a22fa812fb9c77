"""Rating a profile and moving it through the journey's stages without leaving the table.

Each row's small form posts here and comes back (303) to the very page, filters and paging it came from,
with a confirmation. recruiter.js sends the same form with `Accept: application/json` and gets the
confirmation as JSON, so the table stays where it is and the message is announced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, post
from litestar.response import Redirect

from cerebro_serve.services.errors import ServiceError
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, visit_of
from cerebro_serve.web.i18n import translator
from cerebro_serve.web.recruiter.desk import rate, track
from cerebro_serve.web.recruiter.table import TableView, stars_to_score

BACK_TO = {"pool": "/recruiter/pool", "profile": "/recruiter/profile"}


async def _record(
    request: Request, saved: str, save: Callable[[Visit, TableView, dict[str, str]], Any], message: str
) -> Response[Any] | Redirect:
    visit = await visit_of(request)
    form = {name: str(value) for name, value in (await request.form()).items()}
    wants_json = "application/json" in request.headers.get("accept", "")
    _ = translator(visit.lang).gettext
    try:
        view = TableView.of(form)
        await call(save, visit, view, form)
    except ServiceError as error:
        if wants_json:
            return Response({"message": _(error.detail)}, status_code=error.status)
        raise
    if wants_json:
        return Response({"message": _(message)}, status_code=200)
    back = BACK_TO.get(form.get("back", ""), BACK_TO["pool"])
    params = view.params(saved=saved, profile=form.get("profile_key") if back == BACK_TO["profile"] else None)
    return Redirect(visit.link(back, **params), status_code=303)


@post("/{key:str}/recruiter/rate", status_code=303)
async def rate_profile(request: Request) -> Response[Any] | Redirect:
    """A star rating (1 to 5, stored as 0 to 1) of the profile for the job, by the recruiter."""

    def save(visit: Visit, view: TableView, form: dict[str, str]) -> None:
        score = stars_to_score(form.get("stars", ""))
        rate(workspace_of(request), visit.copilot, view, form.get("profile_key", ""), score)

    return await _record(request, "rating", save, "Rating saved.")


@post("/{key:str}/recruiter/stage", status_code=303)
async def move_profile(request: Request) -> Response[Any] | Redirect:
    """The profile moved to a stage of the journey (a recruiter's tracking)."""

    def save(visit: Visit, view: TableView, form: dict[str, str]) -> None:
        track(workspace_of(request), visit.copilot, view, form.get("profile_key", ""), form.get("stage", ""))

    return await _record(request, "stage", save, "Stage saved.")


feedback_handlers = [rate_profile, move_profile]
