"""Where a request's time goes: named stages timed inside the request's context (the worker threads it
starts copy that context), reported by the API as a `Server-Timing` header. Garbage collections that run
on a request's thread are a stage too (`gc`), so a slow request says whether it waited for one."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_stages: ContextVar[dict[str, float] | None] = ContextVar("cerebro_stages", default=None)
_gc_started = threading.local()
_gc_watch_lock = threading.Lock()


@contextmanager
def timed_request() -> Iterator[dict[str, float]]:
    """Within this block, `stage` adds to the returned milliseconds per stage (insertion ordered)."""
    _watch_collections()
    stages: dict[str, float] = {}
    token = _stages.set(stages)
    try:
        yield stages
    finally:
        _stages.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the block's duration to the current request's `name` stage (nothing outside a request)."""
    stages = _stages.get()
    if stages is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + (time.perf_counter() - start) * 1000


def _watch_collections() -> None:
    with _gc_watch_lock:
        if _on_collection not in gc.callbacks:
            gc.callbacks.append(_on_collection)


def _on_collection(phase: str, _info: dict[str, Any]) -> None:
    """gc's hook: time each collection on the thread it runs on, into that thread's request, if any."""
    if phase == "start":
        _gc_started.at = time.perf_counter()
        return
    stages = _stages.get()
    started = getattr(_gc_started, "at", None)
    if stages is not None and started is not None:
        stages["gc"] = stages.get("gc", 0.0) + (time.perf_counter() - started) * 1000
