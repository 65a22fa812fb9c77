"""One job for the candidate: the job, why it scores what it does (what matches, what is missing, the
skills that would raise it, measured by re-scoring), and "Apply" or "Not interested", recorded as the
Tracking API's events so the copilot's algorithm can learn from them."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect

from cerebro_serve.objects import JOB, Job, Profile
from cerebro_serve.services.errors import Forbidden, NotFound
from cerebro_serve.services.explanations import Explanation
from cerebro_serve.services.queries import FeedbackListQuery, RecordLookup, TrackingCreate, UpskillingQuery
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, copilot_page
from cerebro_serve.web.talent.common import candidate_of, no_profile_page

ACTIONS = ("apply", "not_interested")


def job_of(request: Request, visit: Visit) -> tuple[str, Job]:
    """The job the path names, on the board the query names, which must be one of the copilot's."""
    board_key = request.query_params.get("board", "")
    if board_key not in visit.copilot.settings.board_keys:
        raise NotFoundException()
    try:
        job = workspace_of(request).records.get(JOB, board_key, RecordLookup(key=request.path_params["job"]))
    except NotFound:
        raise NotFoundException() from None
    return board_key, job


def explain(request: Request, visit: Visit, profile: Profile, board_key: str, job: Job) -> Explanation | None:
    """The pair's explanation with upskilling suggestions, in the visit's language; None when the
    candidate's consent refuses it."""
    query = UpskillingQuery(
        source_key=visit.copilot.source_key,
        board_key=board_key,
        profile_key=profile.key,
        job_key=job.key,
        algorithm_key=visit.copilot.settings.algorithm_key,
        output_lang=visit.lang,  # type: ignore[arg-type]  # en and fr are output languages
    )
    try:
        return workspace_of(request).explanations.upskill(query, JOB).explanation
    except Forbidden:
        return None


def decisions(request: Request, visit: Visit, profile: Profile, board_key: str, job: Job) -> list[str]:
    """What the candidate already did with this job (apply, not interested), latest first."""
    query = FeedbackListQuery(
        role="candidate",
        source_key=visit.copilot.source_key,
        profile_key=profile.key,
        board_key=board_key,
        job_key=job.key,
        actions=list(ACTIONS),
        sort_by="created_at",
        limit=10,
    )
    return [item["action"] for item in workspace_of(request).feedback.list("tracking", query).items]


def job_page(request: Request, visit: Visit, profile: Profile) -> dict[str, Any]:
    board_key, job = job_of(request, visit)
    return {
        "board_key": board_key,
        "job": job,
        "explanation": explain(request, visit, profile, board_key, job),
        "decisions": decisions(request, visit, profile, board_key, job),
    }


@get("/{key:str}/talent/jobs/{job:str}")
async def job(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    context = await call(job_page, request, visit, profile)
    return copilot_page(
        request, visit, "talent/job.html", profile=profile, done=request.query_params.get("done"), **context
    )


@post("/{key:str}/talent/jobs/{job:str}/feedback", status_code=303)
async def feedback(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    form = await request.form()
    action = form.get("action")
    if action not in ACTIONS:
        raise NotFoundException()
    board_key, job = await call(job_of, request, visit)
    tracking = TrackingCreate(
        role="candidate",
        action=str(action),
        source_key=visit.copilot.source_key,
        board_key=board_key,
        profile_key=profile.key,
        job_key=job.key,
    )
    await call(workspace_of(request).feedback.track, tracking)
    return Redirect(visit.link(f"/talent/jobs/{job.key}", board=board_key, done=action), status_code=303)


talent_job_handlers = [job, feedback]
