"""Profile and job storage: `{kind}/indexing` (POST, PUT, GET), `{kind}/indexing/archive`, `storing/{kinds}`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post, put
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import (
    READ,
    WRITE,
    call,
    embedding_meta,
    required_string,
    workspace_of,
    written,
)
from cerebro_serve.objects import PROFILE, RecordKind
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.queries import ArchiveRequest, JobsStoringQuery, ProfilesStoringQuery, RecordQuery


def split_record_body(kind: RecordKind, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The pool key and the object's fields, from the SDK's flat body or the wrapped `{pool_key, kind}` one."""
    pool_key = required_string(body, kind.pool_key_field)
    wrapped = body.get(kind.name)
    if wrapped is not None:
        if not isinstance(wrapped, dict):
            raise InvalidParameters(f"`{kind.name}` must be a JSON object")
        return pool_key, wrapped
    fields = {name: value for name, value in body.items() if name != kind.pool_key_field}
    return pool_key, fields


def record_handlers(kind: RecordKind) -> list[HTTPRouteHandler]:
    title = kind.name.title()
    storing_query = ProfilesStoringQuery if kind is PROFILE else JobsStoringQuery

    @post(
        f"/{kind.name}/indexing",
        opt=WRITE,
        name=f"index-{kind.name}",
        tags=[kind.plural],
        summary=f"Index a {kind.name}",
        description=(
            f"Body: a flat {title} plus `{kind.pool_key_field}`, or `{{{kind.pool_key_field}, {kind.name}}}`. 201."
        ),
    )
    async def index_record(request: Request) -> Response:
        pool_key, fields = split_record_body(kind, await json_body(request))
        record = convert(fields, kind.type)
        workspace = workspace_of(request)
        [created] = await call(workspace.records.index, kind, pool_key, [record])
        return written(request, 201, f"{title} created", created, created.key, embedding_meta(workspace, created))

    @put(
        f"/{kind.name}/indexing",
        opt=WRITE,
        name=f"edit-{kind.name}",
        tags=[kind.plural],
        summary=f"Edit a {kind.name} by the fields given (`key` or `reference` says which)",
    )
    async def edit_record(request: Request) -> Response:
        pool_key, fields = split_record_body(kind, await json_body(request))
        workspace = workspace_of(request)
        edited = await call(workspace.records.edit, kind, pool_key, fields)
        return written(request, 200, f"{title} edited", edited, edited.key, embedding_meta(workspace, edited))

    @get(
        f"/{kind.name}/indexing",
        opt=READ,
        name=f"get-{kind.name}",
        tags=[kind.plural],
        summary=f"Get a {kind.name} by `{kind.pool_key_field}` and `key` or `reference`",
    )
    async def get_record(request: Request) -> Response:
        pool_key = required_string(dict(request.query_params.items()), kind.pool_key_field)
        query = decode_query(request, RecordQuery)
        record = await call(workspace_of(request).records.get, kind, pool_key, query.lookup)
        return envelope(200, f"{title} details", record)

    @patch(
        f"/{kind.name}/indexing/archive",
        opt=WRITE,
        name=f"archive-{kind.name}",
        tags=[kind.plural],
        summary=f"Archive (`is_archive`: 1) or restore (0) a {kind.name}",
    )
    async def archive_record(request: Request) -> Response:
        body = await json_body(request)
        pool_key = required_string(body, kind.pool_key_field)
        payload = convert(body, ArchiveRequest)
        key = await call(workspace_of(request).records.archive, kind, pool_key, payload.lookup, payload.is_archive)
        action = "archived" if payload.is_archive else "unarchived"
        return envelope(200, f"{title} {action}", {"key": key})

    @get(
        f"/storing/{kind.plural}",
        opt=READ,
        name=f"list-{kind.plural}",
        tags=[kind.plural],
        summary=f"List the {kind.plural} of `{kind.pool}_keys` (JSON list), paged",
    )
    async def list_records(request: Request) -> Response:
        query = decode_query(request, storing_query)
        page = await call(workspace_of(request).records.list, kind, query)
        return envelope(200, f"{title}s list", page.items, page.meta)

    return [index_record, edit_record, get_record, archive_record, list_records]
