"""Copilots: set up a Talent or Recruiter Copilot, list and edit them, switch them off, and mint what
embeds them (a pre-signed URL for an iframe, a tracking pixel, a partner app's token). Admin keys only:
these routes hand out the access that pages give people without a key."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put

from cerebro_serve.api.contract import admin
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.services.copilots import (
    Copilot,
    CopilotCreate,
    CopilotDisable,
    CopilotEdit,
    CopilotListQuery,
    CopilotQuery,
    CopilotUrlCreate,
    PixelCreate,
)
from cerebro_serve.services.timestamps import format_timestamp

TAGS = ["copilots"]


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _url(request: Request, path: str, expires_at: int) -> dict[str, Any]:
    return {"url": _absolute(request, path), "expires_at": format_timestamp(expires_at * 1_000_000)}


def _with_url(request: Request, copilot: Copilot) -> dict[str, Any]:
    path, expires_at = workspace_of(request).copilots.presigned_path(copilot.key)
    return {**copilot.view(), "presigned_url": _url(request, path, expires_at)}


@post(
    "/copilot",
    opt=admin(
        body=CopilotCreate,
        answers={201: dict[str, Any]},
        errors=(404,),
        example={"type": "talent", "name": "Careers site", "source_keys": ["..."], "board_keys": ["..."]},
    ),
    tags=TAGS,
    summary="Set up a copilot → the copilot, its key and a pre-signed URL (valid 7 days) to embed",
)
async def create_copilot(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotCreate, strict=True)
    copilot = await call(workspace_of(request).copilots.create, payload)
    return envelope(201, "Copilot created", _with_url(request, copilot))


@get(
    "/copilot",
    opt=admin(query=CopilotQuery, answers={200: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="One copilot",
)
async def get_copilot(request: Request) -> Response:
    query = decode_query(request, CopilotQuery)
    copilot = await call(workspace_of(request).copilots.get, query.key)
    return envelope(200, "Copilot", copilot.view())


@get(
    "/copilots",
    opt=admin(query=CopilotListQuery, answers={200: list[dict[str, Any]]}, paged=True),
    tags=TAGS,
    summary="The workspace's copilots, newest first",
)
async def list_copilots(request: Request) -> Response:
    query = decode_query(request, CopilotListQuery)
    page = await call(workspace_of(request).copilots.list, query)
    return envelope(200, "Copilots", page.items, page.meta)


@put(
    "/copilot",
    opt=admin(body=CopilotEdit, answers={200: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Edit a copilot: the fields given replace the stored ones",
)
async def edit_copilot(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotEdit, strict=True)
    copilot = await call(workspace_of(request).copilots.edit, payload)
    return envelope(200, "Copilot edited", copilot.view())


@post(
    "/copilot/disable",
    opt=admin(body=CopilotDisable, answers={200: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Switch a copilot off (`disabled: true`) or on again; its pages refuse visitors while off",
)
async def disable_copilot(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotDisable, strict=True)
    copilot = await call(workspace_of(request).copilots.disable, payload)
    return envelope(200, "Copilot disabled" if copilot.disabled else "Copilot enabled", copilot.view())


@post(
    "/copilot/revoke",
    opt=admin(body=CopilotQuery, answers={200: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Revoke every URL, pixel, candidate session and token signed for a copilot so far",
)
async def revoke_copilot(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotQuery, strict=True)
    copilot = await call(workspace_of(request).copilots.revoke, payload.key)
    return envelope(200, "Copilot links revoked", copilot.view())


@post(
    "/copilot/url",
    opt=admin(body=CopilotUrlCreate, answers={201: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Mint a pre-signed URL of a copilot's page with a chosen expiry (`expires_in` seconds)",
)
async def mint_copilot_url(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotUrlCreate, strict=True)
    path, expires_at = await call(workspace_of(request).copilots.presigned_path, payload.key, payload.expires_in)
    return envelope(201, "Copilot URL", _url(request, path, expires_at))


@post(
    "/copilot/pixel",
    opt=admin(body=PixelCreate, answers={201: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Mint a tracking pixel: a 1x1 image URL whose loading records a tracking (default `view`)",
)
async def mint_copilot_pixel(request: Request) -> Response:
    payload = convert(await json_body(request), PixelCreate, strict=True)
    path, expires_at = await call(workspace_of(request).copilots.pixel_path, payload)
    return envelope(201, "Copilot pixel", _url(request, path, expires_at))


@post(
    "/copilot/token",
    opt=admin(body=CopilotUrlCreate, answers={201: dict[str, Any]}, errors=(404,)),
    tags=TAGS,
    summary="Mint a partner app's token (`Authorization: Bearer cpt_...`): what the copilot does, nothing else",
)
async def mint_copilot_token(request: Request) -> Response:
    payload = convert(await json_body(request), CopilotUrlCreate, strict=True)
    token, expires_at = await call(workspace_of(request).copilots.partner_token, payload.key, payload.expires_in)
    return envelope(201, "Copilot token", {"token": token, "expires_at": format_timestamp(expires_at * 1_000_000)})


copilot_handlers = [
    create_copilot,
    get_copilot,
    list_copilots,
    edit_copilot,
    disable_copilot,
    revoke_copilot,
    mint_copilot_url,
    mint_copilot_pixel,
    mint_copilot_token,
]
