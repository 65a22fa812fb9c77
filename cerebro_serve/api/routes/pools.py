"""Sources and boards: `POST /v1/source|board` (our admin route), `GET /v1/source|board`, `GET /v1/sources|boards`."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.contract import reads, writes
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.objects import Pool, RecordKind
from cerebro_serve.services.queries import PoolCreate, PoolListQuery, PoolQuery


def pool_handlers(kind: RecordKind) -> list[HTTPRouteHandler]:
    title = kind.pool.title()

    @post(
        f"/{kind.pool}",
        opt=writes(body=PoolCreate, answers={201: Pool}, example={"name": "Candidates 2026"}),
        name=f"create-{kind.pool}",
        tags=[f"{kind.pool}s"],
        summary=f"Create a {kind.pool}: `{{name, description?}}` (admin route; not in the HrFlow SDK)",
    )
    async def create_pool(request: Request) -> Response:
        payload = convert(await json_body(request), PoolCreate)
        pool = await call(workspace_of(request).pools.create, kind, payload)
        return envelope(201, f"{title} created", pool)

    @get(
        f"/{kind.pool}",
        opt=reads(query=PoolQuery, answers={200: Pool}),
        name=f"get-{kind.pool}",
        tags=[f"{kind.pool}s"],
        summary=f"Get a {kind.pool} by `key`",
    )
    async def get_pool(request: Request) -> Response:
        query = decode_query(request, PoolQuery)
        pool = await call(workspace_of(request).pools.get, kind, query.key)
        return envelope(200, f"{title} details", pool)

    @get(
        f"/{kind.pool}s",
        opt=reads(query=PoolListQuery, answers={200: list[Pool]}, paged=True),
        name=f"list-{kind.pool}s",
        tags=[f"{kind.pool}s"],
        summary=f"List {kind.pool}s, optionally by `name`",
    )
    async def list_pools(request: Request) -> Response:
        query = decode_query(request, PoolListQuery)
        page = await call(workspace_of(request).pools.list, kind, query)
        return envelope(200, f"{title}s list", page.items, page.meta)

    return [create_pool, get_pool, list_pools]
