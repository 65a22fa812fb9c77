"""The door of every copilot: its pre-signed URL opens the Talent or Recruiter pages, and its tracking
pixel records a view on the host site."""

from __future__ import annotations

import base64

from litestar import Request, Response, get
from litestar.response import Redirect

from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import visit_of

# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@get("/{key:str}")
async def copilot_home(request: Request) -> Redirect:
    """A signed link opens the copilot's first page, whichever kind it is."""
    visit = await visit_of(request)
    return Redirect(visit.link(f"/{visit.copilot.type}"))


@get("/{key:str}/pixel.gif")
async def tracking_pixel(request: Request) -> Response[bytes]:
    """Record the view (a tracking) that the signed pixel stands for; an image either way, never cached."""
    workspace = workspace_of(request)
    await call(workspace.copilots.record_pixel, request.path_params["key"], request.query_params.get("t"))
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


copilot_entry_handlers = [copilot_home, tracking_pixel]
