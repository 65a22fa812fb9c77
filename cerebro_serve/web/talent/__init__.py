"""The Talent Copilot: a candidate uploads a resume and gets jobs ranked for them.

Welcome and upload here; the parsing's progress, the jobs, one job and the profile each in their module.
Every link goes through `visit.link`, so the copilot's signed access and the candidate's token travel."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from cerebro_serve.web.calls import call
from cerebro_serve.web.copilot_visit import copilot_page, visit_of
from cerebro_serve.web.i18n import translator
from cerebro_serve.web.talent.common import candidate_of
from cerebro_serve.web.talent.consent import ConsentForm
from cerebro_serve.web.talent.job import talent_job_handlers
from cerebro_serve.web.talent.jobs import talent_jobs_handlers
from cerebro_serve.web.talent.parsing import progress
from cerebro_serve.web.talent.profile import talent_profile_handlers
from cerebro_serve.web.talent.upload import limits_of, receive

NO_CONSENT_YET = ConsentForm(False, False, False)


@get("/{key:str}/talent")
async def welcome(request: Request) -> Template:
    visit, profile = await candidate_of(request)
    return copilot_page(
        request, visit, "talent/welcome.html", profile=profile, consent=NO_CONSENT_YET, limits=limits_of(request)
    )


@post("/{key:str}/talent/upload", status_code=303)
async def upload(request: Request) -> Response:
    visit = await visit_of(request)
    received = await receive(request, visit)
    if received.refusal is not None or received.visit is None:
        refusal = received.refusal
        return copilot_page(
            request,
            visit,
            "talent/welcome.html",
            status=refusal.status if refusal else 400,
            profile=None,
            consent=received.consent,
            limits=limits_of(request),
            refusal=refusal,
        )
    return Redirect(received.visit.link("/talent/parsing"), status_code=303)


@get("/{key:str}/talent/parsing")
async def parsing(request: Request) -> Template:
    """The progress page: reloads itself without JS (a meta refresh in <noscript>); talent.js polls instead."""
    visit = await visit_of(request)
    state = await call(progress, request, visit)
    status = 422 if state.state == "failed" else 200
    return copilot_page(request, visit, "talent/parsing.html", status=status, progress=state)


@get("/{key:str}/talent/parsing/status")
async def parsing_status(request: Request) -> Response:
    """The same progress as JSON for talent.js, with the message already in the visit's language."""
    visit = await visit_of(request)
    state = await call(progress, request, visit)
    body = {
        "state": state.state,
        "message": translator(visit.lang).gettext(state.message, **state.values) if state.message else "",
        "next": visit.link("/talent/jobs") if state.state == "done" else visit.link("/talent"),
    }
    return Response(msgspec.json.encode(body), media_type="application/json", headers={"Cache-Control": "no-store"})


talent_handlers = [
    welcome,
    upload,
    parsing,
    parsing_status,
    *talent_jobs_handlers,
    *talent_job_handlers,
    *talent_profile_handlers,
]
