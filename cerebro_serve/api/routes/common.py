"""What every route does: find the workspace, run the blocking service call off the event loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request, Response

from cerebro_serve.api.auth import KEY_PERMISSION
from cerebro_serve.api.envelope import envelope
from cerebro_serve.objects import Job, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.errors import InvalidParameters

T = TypeVar("T")


def written(
    request: Request, status: int, message: str, data: Any, key: str | None, meta: dict[str, Any] | None = None
) -> Response:
    """The answer to a write. A write-only key (`askw_`) hears that it landed and the key it has, nothing
    of what is stored: such keys feed data in, they do not read people's records."""
    if request.state.get(KEY_PERMISSION) == "write":
        return envelope(status, message, {"key": key}, meta)
    return envelope(status, message, data, meta)


def embedding_meta(workspace: Workspace, record: Profile | Job) -> dict[str, Any] | None:
    """`meta.embedding` of a write whose record had views longer than the encoder reads."""
    cuts = workspace.records.embedding_cuts(record)
    if not cuts:
        return None
    return {"embedding": {"max_chars": workspace.records.embed_max_chars, "views_cut": cuts}}


def workspace_of(request: Request) -> Workspace:
    return request.app.state.workspace


async def call(function: Callable[..., T], *args: Any) -> T:
    """Services block (store, encoder): run them in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


def required_string(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if value is None or value == "":
        raise InvalidParameters(f"`{name}` is required")
    if not isinstance(value, str):
        raise InvalidParameters(f"`{name}` must be a string")
    return value
