"""The Recruiter Copilot: a recruiter chooses a job from the copilot's boards or writes one, sees the talent
pool ranked for it in a table, reads why a profile ranks where it does beside the job, and rates profiles
or moves them along the journey from the table itself (feedback.py)."""

from __future__ import annotations

import math

from litestar import Request, get, post
from litestar.response import Redirect, Template

from cerebro_serve.objects import JOB
from cerebro_serve.services.errors import InvalidParameters, QueueFull
from cerebro_serve.services.pages import Page
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, copilot_page, visit_of
from cerebro_serve.web.i18n import translator
from cerebro_serve.web.recruiter.desk import (
    Row,
    board_jobs,
    explain,
    job,
    profile_of,
    ranked_rows,
    stages,
    write_job,
)
from cerebro_serve.web.recruiter.feedback import feedback_handlers
from cerebro_serve.web.recruiter.table import GEM_NEAR_BEST, GEM_OVERLAP, GEM_TOP, STARS, TableView


@get("/{key:str}/recruiter")
async def choose_job(request: Request) -> Template:
    visit = await visit_of(request)
    return await _home(request, visit)


async def _home(
    request: Request,
    visit: Visit,
    *,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Template:
    """The job chooser: the boards' jobs (searchable, paged) beside a form to write one."""
    params = request.query_params
    search = params.get("q", "").strip()
    try:
        page = max(1, int(params.get("jobs_page") or 1))
    except ValueError:
        page = 1
    jobs = await call(board_jobs, workspace_of(request), visit.copilot, search, page)
    return copilot_page(
        request,
        visit,
        "recruiter/home.html",
        status=status,
        jobs=jobs,
        max_page=max(1, math.ceil(jobs.total / jobs.limit)),
        search=search,
        error=error,
        typed=typed or {},
        jobs_url=lambda page: visit.link("/recruiter", q=search, jobs_page=page),
    )


@post("/{key:str}/recruiter/jobs", status_code=303)
async def write(request: Request) -> Redirect | Template:
    """A typed job: parsed, stored on the copilot's first board (so it can be scored), then ranked."""
    visit = await visit_of(request)
    form = await request.form()
    title, description = str(form.get("title", "")), str(form.get("description", ""))
    typed = {"title": title, "description": description}
    try:
        written = await call(write_job, workspace_of(request), visit.copilot, title, description)
    except InvalidParameters as error:
        return await _home(request, visit, status=400, error=error.detail, typed=typed)
    except QueueFull as busy:
        # Reading the job needs the encoder; when it is overloaded the recruiter keeps the text and retries.
        _ = translator(visit.lang).gettext
        wait = _("The server is busy reading other documents: please try again in {seconds} seconds.")
        return await _home(
            request, visit, status=503, error=wait.format(seconds=math.ceil(busy.retry_after)), typed=typed
        )
    view = TableView(board=str(written.board_key), job=str(written.key))
    return Redirect(visit.link("/recruiter/pool", **view.params(written="1")), status_code=303)


@get("/{key:str}/recruiter/pool")
async def pool(request: Request) -> Template:
    """The talent pool ranked for the job, one page of the table, filtered as the URL says."""
    visit = await visit_of(request)
    workspace = workspace_of(request)
    view = TableView.of(request.query_params)
    shown = await call(job, workspace, visit.copilot, view.board, view.job)
    error: str | None = None
    page: Page | None = None
    rows: list[Row] = []
    try:
        page, rows = await call(ranked_rows, workspace, visit.copilot, view, visit.lang)
    except InvalidParameters as bad_filter:
        error = bad_filter.detail
    board = await call(workspace.pools.get, JOB, view.board) if request.query_params.get("written") else None
    return copilot_page(
        request,
        visit,
        "recruiter/pool.html",
        status=400 if error else 200,
        view=view,
        job=shown,
        page=page,
        rows=rows,
        max_page=max(1, math.ceil(page.total / page.limit)) if page else 1,
        error=error,
        written_board=board,
        saved=request.query_params.get("saved"),
        stages=await call(stages, workspace, visit.copilot),
        stars=STARS,
        gem_top=GEM_TOP,
        gem_near=round(GEM_NEAR_BEST * 100),
        gem_overlap=round(GEM_OVERLAP * 100),
        page_url=lambda page: visit.link("/recruiter/pool", **view.params(page=page)),
        filters=visit.copilot.settings.design.filters,
        columns=visit.copilot.settings.design.columns,
    )


@get("/{key:str}/recruiter/profile")
async def profile(request: Request) -> Template:
    """One profile's explanation beside the job: what matches and what is missing."""
    visit = await visit_of(request)
    workspace = workspace_of(request)
    view = TableView.of(request.query_params)
    profile_key = request.query_params.get("profile", "")
    if not profile_key:
        raise InvalidParameters("choose a profile in the table first")
    shown = await call(job, workspace, visit.copilot, view.board, view.job)
    explained = await call(explain, workspace, visit.copilot, view, profile_key, visit.lang)
    person = await call(profile_of, workspace, visit.copilot, profile_key)
    return copilot_page(
        request,
        visit,
        "recruiter/profile.html",
        view=view,
        job=shown,
        person=person,
        explanation=explained.explanation,
        saved=request.query_params.get("saved"),
        stages=await call(stages, workspace, visit.copilot),
        stars=STARS,
    )


recruiter_handlers = [choose_job, write, pool, profile, *feedback_handlers]
