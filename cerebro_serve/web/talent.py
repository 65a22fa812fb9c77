"""The Talent Copilot: a candidate uploads a resume and gets jobs ranked for them."""

from __future__ import annotations

import anyio.to_thread
from litestar import Request, get
from litestar.response import Template

from cerebro_serve.web.copilot_visit import copilot_page, open_visit


@get("/{key:str}/talent")
async def welcome(request: Request) -> Template:
    visit = await anyio.to_thread.run_sync(open_visit, request)
    return copilot_page(request, visit, "talent/welcome.html")


talent_handlers = [welcome]
