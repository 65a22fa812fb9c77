"""Admission control for the API: a bounded number of requests at work in this process, the next ones in
a short line, and a fast 429 with `Retry-After` for those the line cannot take in time.

Scoring, search and writes run on threads that share a few cores: past a point, admitting more requests
only makes every one of them slower, until clients time out. So at most `max_active` API requests work
at once; a request that finds them all busy waits, first come first served, up to `max_wait_seconds`
(and behind at most `max_waiting` others), and is otherwise answered 429 at once, so a client backs off
and retries while the requests admitted keep their latency. The encoder's own admission (the dynamic
batcher's QueueFull) still bounds work queued for the model. Health probes, metrics and pages pass
untouched: only `/v1` is counted.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

from litestar.types import ASGIApp, Receive, Scope, Send

from cerebro_serve.api.envelope import raw_envelope
from cerebro_serve.timing import stage

API_PREFIX = "/v1/"


def is_api_call(scope: Scope) -> bool:
    """An HTTP request to the API (not a probe, `/metrics`, a page or a static file)."""
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    max_active: int  # API requests at work at once, in this process
    max_waiting: int  # requests waiting for one of them to finish; past it, a 429 at once
    max_wait_seconds: float  # how long a request waits before its 429

    def __post_init__(self) -> None:
        if self.max_active < 1 or self.max_waiting < 0 or self.max_wait_seconds < 0:
            raise ValueError(f"admission limits must let one request work and wait no less than nothing: {self}")


class Admission:
    """The line: a slot per active request, handed first come first served. Its waits live on the
    server's event loop."""

    def __init__(self, limits: AdmissionLimits) -> None:
        self.limits = limits
        self.active = 0
        self.refused = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def enter(self) -> bool:
        """Take a slot (True), waiting for one up to the limit; False when refused."""
        if self.active < self.limits.max_active and not self._waiting:
            self.active += 1
            return True
        if len(self._waiting) >= self.limits.max_waiting:
            self.refused += 1
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(self.limits.max_wait_seconds):
                await turn
            return True
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                return True  # handed a slot just as the wait ran out: it is this request's
            self._discard(turn)
            self.refused += 1
            return False
        except asyncio.CancelledError:  # the client went away while waiting
            if turn.done() and not turn.cancelled():
                self.leave()
            self._discard(turn)
            raise

    def leave(self) -> None:
        """Give the slot to the next request still waiting, or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.active -= 1

    def _discard(self, turn: asyncio.Future[None]) -> None:
        try:
            self._waiting.remove(turn)
        except ValueError:
            pass  # already taken off the line by `leave`

    def retry_after(self) -> int:
        """Seconds a refused client should wait: as long as the line lets a request wait, at least one."""
        return max(1, math.ceil(self.limits.max_wait_seconds))


def admit_requests(app: ASGIApp, admission: Admission) -> ASGIApp:
    """The API behind the line; everything else straight through."""

    async def admitted(scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api_call(scope):
            await app(scope, receive, send)
            return
        with stage("queue"):
            entered = await admission.enter()
        if not entered:
            retry = admission.retry_after()
            message = f"Too Many Requests. The server is at capacity; retry in {retry} s."
            await raw_envelope(429, message, {"Retry-After": str(retry)})(scope, receive, send)
            return
        try:
            await app(scope, receive, send)
        finally:
            admission.leave()

    return admitted
