"""The workspace at a glance: sources, boards, record counts, the parsing queue, recent activity."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from cerebro_serve.web.render import render
from cerebro_serve.web.studio_session import require_admin


@get("/overview", guards=[require_admin])
async def overview(request: Request) -> Template:
    return render(request, "studio/overview.html", section="overview")


overview_handlers = [overview]
