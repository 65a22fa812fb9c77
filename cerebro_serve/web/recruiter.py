"""The Recruiter Copilot: a recruiter chooses or writes a job and gets the talent pool ranked."""

from __future__ import annotations

import anyio.to_thread
from litestar import Request, get
from litestar.response import Template

from cerebro_serve.web.copilot_visit import copilot_page, open_visit


@get("/{key:str}/recruiter")
async def choose_job(request: Request) -> Template:
    visit = await anyio.to_thread.run_sync(open_visit, request)
    return copilot_page(request, visit, "recruiter/home.html")


recruiter_handlers = [choose_job]
