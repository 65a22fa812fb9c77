"""Signing in to the Studio with the workspace's admin key, and out again."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from cerebro_serve.web.render import render
from cerebro_serve.web.studio_session import ADMIN_KEY, signed_in_key


def _safe_next(target: str | None) -> str:
    """Only a Studio path: a sign-in link must not send the admin to another site."""
    return target if target and target.startswith("/studio/") and "//" not in target else "/studio/overview"


@get("/")
async def studio_home() -> Redirect:
    return Redirect("/studio/overview")


@get("/sign-in")
async def sign_in_form(request: Request) -> Template | Redirect:
    next = request.query_params.get("next")
    if signed_in_key(request):
        return Redirect(_safe_next(next))
    return render(request, "studio/sign_in.html", next=_safe_next(next), error=None)


@post("/sign-in")
async def sign_in(
    request: Request, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template | Redirect:
    key = (data.get("admin_key") or "").strip()
    target = _safe_next(data.get("next"))
    if request.app.state.workspace.keys.permission(key) != "all":
        error = "This is not an admin key (ask_…) of this workspace."
        return render(request, "studio/sign_in.html", status=401, next=target, error=error)
    request.set_session({ADMIN_KEY: key})
    return Redirect(target)


@post("/sign-out")
async def sign_out(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/studio/sign-in")


signin_handlers = [studio_home, sign_in_form, sign_in, sign_out]
