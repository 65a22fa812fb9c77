"""Copilots in the Studio: the workspace's copilots, the form that sets one up or edits it (pools,
algorithm, design, allowed origins) beside a live preview of its own page, and what embeds it: the
iframe snippet and pre-signed URLs with a chosen expiry; switching it off and revoking its links.

The preview is the copilot's real page in an iframe, opened by a pre-signed URL minted for a few minutes
each time the page is drawn, so what the admin sees is what visitors get after the form is saved."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.response import Redirect, Template

from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import DAY, Copilot, CopilotDisable, CopilotListQuery
from cerebro_serve.services.errors import ServiceError
from cerebro_serve.services.queries import AlgorithmListQuery, PoolListQuery
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.render import language, render
from cerebro_serve.web.studio.copilot_form import FILTERS, CopilotForm
from cerebro_serve.web.studio_session import back, flash, require_admin

PREVIEW_SECONDS = 15 * 60
EXPIRIES = ((3600, "1 hour"), (DAY, "1 day"), (7 * DAY, "7 days"), (30 * DAY, "30 days"), (365 * DAY, "1 year"))
FLASH = "copilots_flash"


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


async def _choices(workspace: Workspace) -> dict[str, Any]:
    """What the form offers: the workspace's sources and boards, the marketplace's and its own algorithms."""
    pools = PoolListQuery(limit=1000, order_by="asc")
    return {
        "sources": (await call(workspace.pools.list, PROFILE, pools)).items,
        "boards": (await call(workspace.pools.list, JOB, pools)).items,
        "marketplace": await call(workspace.algorithms.marketplace),
        "algorithms": (await call(workspace.algorithms.list, AlgorithmListQuery(limit=1000))).items,
        "filter_names": FILTERS,
        "expiries": EXPIRIES,
    }


@get("/copilots", guards=[require_admin])
async def copilots_page(request: Request) -> Template:
    workspace = workspace_of(request)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    listed = await call(workspace.copilots.list, CopilotListQuery(page=page, limit=30))
    choices = await _choices(workspace)
    names = {pool.key: pool.name for pool in [*choices["sources"], *choices["boards"]]}
    return render(
        request,
        "studio/copilots.html",
        section="copilots",
        copilots=listed.items,
        pool_names=names,
        page=page,
        max_page=listed.meta["maxPage"],
        page_url=lambda page: f"/studio/copilots?{urlencode({'lang': language(request), 'page': page})}",
        flash=flash(request, FLASH),
    )


@get("/copilots/new", guards=[require_admin])
async def new_copilot(request: Request) -> Template:
    return await _form_page(request, None, CopilotForm(lang=language(request)))


@post("/copilots/new", guards=[require_admin])
async def create_copilot(request: Request) -> Template | Redirect:
    form = await CopilotForm.read(await request.form())
    try:
        copilot = await call(workspace_of(request).copilots.create, form.create())
    except ServiceError as error:
        return await _form_page(request, None, form, error=error.detail, status=error.status)
    return back(request, f"/studio/copilots/{copilot.key}", FLASH, done="created")


@get("/copilots/{key:str}", guards=[require_admin])
async def edit_copilot_page(request: Request) -> Template:
    copilot = await call(workspace_of(request).copilots.get, request.path_params["key"])
    return await _form_page(request, copilot, CopilotForm.of(copilot), flash=flash(request, FLASH))


@post("/copilots/{key:str}", guards=[require_admin])
async def save_copilot(request: Request) -> Template | Redirect:
    copilots = workspace_of(request).copilots
    copilot = await call(copilots.get, request.path_params["key"])
    form = await CopilotForm.read(await request.form(), copilot.settings.design.logo)
    form.type = copilot.type
    try:
        await call(copilots.edit, form.edit(copilot.key))
    except ServiceError as error:
        return await _form_page(request, copilot, form, error=error.detail, status=error.status)
    return back(request, f"/studio/copilots/{copilot.key}", FLASH, done="saved")


@post("/copilots/{key:str}/disable", guards=[require_admin])
async def switch_copilot(request: Request) -> Redirect:
    form = await request.form()
    disabled = form.get("disabled") == "1"
    request_ = CopilotDisable(key=request.path_params["key"], disabled=disabled)
    copilot = await call(workspace_of(request).copilots.disable, request_)
    return back(request, f"/studio/copilots/{copilot.key}", FLASH, done="disabled" if disabled else "enabled")


@post("/copilots/{key:str}/revoke", guards=[require_admin])
async def revoke_copilot(request: Request) -> Redirect:
    copilot = await call(workspace_of(request).copilots.revoke, request.path_params["key"])
    return back(request, f"/studio/copilots/{copilot.key}", FLASH, done="revoked")


@post("/copilots/{key:str}/url", guards=[require_admin])
async def mint_url(request: Request) -> Redirect:
    form = await request.form()
    seconds = {str(seconds): seconds for seconds, _ in EXPIRIES}.get(str(form.get("expires_in")), 7 * DAY)
    path, _ = await call(workspace_of(request).copilots.presigned_path, request.path_params["key"], seconds)
    return back(
        request, f"/studio/copilots/{request.path_params['key']}", FLASH, done="minted", url=_absolute(request, path)
    )


async def _form_page(
    request: Request,
    copilot: Copilot | None,
    form: CopilotForm,
    *,
    error: str | None = None,
    status: int = 200,
    flash: dict[str, str] | None = None,
) -> Template:
    workspace = workspace_of(request)
    preview = None
    if copilot is not None:
        path, _ = await call(workspace.copilots.presigned_path, copilot.key, PREVIEW_SECONDS)
        preview = path + "&" + urlencode({"lang": form.lang})
    return render(
        request,
        "studio/copilot_edit.html",
        status=status,
        section="copilots",
        copilot=copilot,
        form=form,
        error=error,
        flash=flash or {},
        preview=preview,
        preview_url=_absolute(request, preview) if preview else None,
        **await _choices(workspace),
    )


copilot_handlers = [
    copilots_page,
    new_copilot,
    create_copilot,
    edit_copilot_page,
    save_copilot,
    switch_copilot,
    revoke_copilot,
    mint_url,
]
