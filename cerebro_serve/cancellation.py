"""A caller may go away while its request is worked on. The HTTP layer marks the request abandoned when
the client disconnects; the costly steps below it (waiting for the encoder, committing a write) check
the mark, so nobody's encoder time or storage is spent on an answer no one will read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_abandoned: ContextVar[threading.Event | None] = ContextVar("cerebro_abandoned", default=None)


class Abandoned(Exception):
    """The caller went away: the work stopped, and nothing of it was stored."""


@contextmanager
def watched() -> Iterator[threading.Event]:
    """Within this block (and the worker threads it starts, which copy the context), setting the event
    marks the current request abandoned."""
    event = threading.Event()
    token = _abandoned.set(event)
    try:
        yield event
    finally:
        _abandoned.reset(token)


def abandoned() -> bool:
    event = _abandoned.get()
    return event is not None and event.is_set()


def stop_if_abandoned() -> None:
    if abandoned():
        raise Abandoned("the caller went away before the work was done")
