"""What every page handler does: find the workspace, and run its call service calls (database,
encoder, parser) in a worker thread, so that a page never stalls the server's event loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request

from cerebro_serve.services import Workspace

T = TypeVar("T")


def workspace_of(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
