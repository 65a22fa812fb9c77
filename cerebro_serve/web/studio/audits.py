"""A fairness audit's report in the Studio: the same self-contained page `GET /v1/algorithm/audit?format=html`
answers, opened with the admin's session instead of a key header, under the pages' security policy."""

from __future__ import annotations

from litestar import Request, Response, get

from cerebro_serve.web.calls import call
from cerebro_serve.web.render import policy
from cerebro_serve.web.studio_session import require_admin


@get("/audits/{key:str}", guards=[require_admin])
async def audit_report(request: Request) -> Response[str]:
    fairness = request.app.state.workspace.fairness
    page = await call(fairness.html, request.path_params["key"])
    return Response(page, media_type="text/html", headers={"Content-Security-Policy": policy()})


audit_handlers = [audit_report]
