"""Every page route, grouped by who uses it: copilot visitors (signed links) and Studio admins (a session)."""

from __future__ import annotations

from litestar import Router, get
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.response import Redirect

from cerebro_serve.web.copilot_entry import copilot_entry_handlers
from cerebro_serve.web.recruiter import recruiter_handlers
from cerebro_serve.web.render import page_error
from cerebro_serve.web.studio import studio_handlers
from cerebro_serve.web.studio_session import SESSIONS, SignInRequired, to_sign_in
from cerebro_serve.web.talent import talent_handlers


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/studio")


def page_handlers() -> list[Router | HTTPRouteHandler]:
    return [
        home,
        Router(
            "/copilot",
            route_handlers=[*copilot_entry_handlers, *talent_handlers, *recruiter_handlers],
            exception_handlers={Exception: page_error},
            include_in_schema=False,
        ),
        Router(
            "/studio",
            route_handlers=studio_handlers(),
            middleware=[SESSIONS.middleware],
            exception_handlers={SignInRequired: to_sign_in, Exception: page_error},
            include_in_schema=False,
        ),
    ]
