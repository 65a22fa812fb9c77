"""The dynamic batcher: texts from many concurrent callers share forward passes, fairly.

An asyncio loop on its own thread forms batches of pieces (chunks of the callers' texts, tokenised by the
callers' own threads): a batch closes when it reaches the token budget, or when the oldest waiting
request has waited `max_wait_ms`. Batches are filled round-robin, one piece per waiting request in turn,
so a long request's pieces interleave with short requests' pieces instead of holding the encoder; one
batch is in flight while the next one forms. A caller that goes away (a cancelled task) is dropped before
its next pieces are encoded.

Admission is bounded twice, and refused at once with `QueueFull` (the API answers 429 with
`Retry-After`): past `max_pending` waiting requests, and when the work already queued would delay the
request by more than `max_queue_seconds` at the encoder's measured speed. Batches take one piece of each
waiting request in turn, so a queued request delays a new one by at most its own size or the new one's:
a bulk import (or a training's re-embedding) leaves room for a page's few texts, while a second bulk
request, or a crowd of small ones, is refused. Async callers `await embed(...)`; threads
call `embed_documents` (the Encoder protocol), so indexing and scoring share the same batches.

Monitoring reads `stats` and `queue_depth` when it likes, and hears of each forward pass through the
observers it registers (`observe`): the batcher knows nothing of what they do with it.

A server shutting down `drain`s it: the requests already admitted are encoded to the end, new ones are
refused with `BatcherClosed` (the API answers 503), so the indexes are saved after the last write.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from cerebro_serve.cancellation import abandoned, stop_if_abandoned
from cerebro_serve.engine.encoder import HeadCutter, Pieces, PooledEncoder

ABANDON_CHECK_SECONDS = 0.05  # how often a waiting thread looks whether its HTTP caller went away
SPEED_SMOOTHING = 0.3  # weight of the newest batch in the encoder's measured tokens per second


class QueueFull(Exception):
    """The batcher is at capacity: retry after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class BatcherClosed(Exception):
    """The batcher is draining or closed (the server is shutting down): it admits no new request."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Where one request's time went, in milliseconds."""

    queue_ms: float  # from arrival until a batch took its first piece
    tokenize_ms: float  # chunking and counting its texts
    inference_ms: float  # the forward passes that carried its pieces
    batch_pieces: int  # pieces in the largest of those batches, all callers together


@dataclass(frozen=True, slots=True)
class Embedded:
    vectors: np.ndarray
    timings: Timings


@dataclass(frozen=True, slots=True)
class _Prepared:
    cut: Pieces
    texts: int
    tokenize_ms: float


@dataclass(eq=False)
class _Request:
    prepared: _Prepared
    future: asyncio.Future
    vectors: np.ndarray
    remaining_tokens: int
    enqueued: float = field(default_factory=time.perf_counter)
    next_piece: int = 0  # pieces before this one are in a batch already
    encoded: int = 0  # pieces whose vectors came back
    taken_at: float | None = None
    inference_ms: float = 0.0
    batch_pieces: int = 0

    @property
    def untaken(self) -> bool:
        return self.next_piece < len(self.prepared.cut.pieces)


@dataclass
class BatcherStats:
    batches: int = 0
    pieces: int = 0
    requests: int = 0
    rejected: int = 0
    dropped: int = 0
    texts: int = 0  # texts whose vectors were returned
    tokens_per_second: float | None = None  # measured, smoothed over batches


@dataclass(frozen=True, slots=True)
class BatchRun:
    """One forward pass, as observers see it."""

    pieces: int
    tokens: int
    seconds: float  # the forward pass
    queue_waits: tuple[float, ...]  # seconds each request this pass completed waited for its first batch


class BatchObserver(Protocol):
    def batch_ran(self, run: BatchRun) -> None:
        """Called on the batcher's loop after each forward pass: it must return at once."""


def _lower_priority(nice: int) -> None:
    """Runs on the encoder's thread as it starts: a forward pass (hundreds of milliseconds on every core
    for a long resume) then yields the CPU to the requests' short native calls instead of stretching
    their latency; PyTorch's worker threads, started from this thread, inherit its priority."""
    if nice > 0 and hasattr(os, "setpriority"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)  # this thread only (Linux)


class DynamicBatcher:
    def __init__(
        self,
        encoder: PooledEncoder,
        *,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_pending: int,
        max_queue_seconds: float,
        encoder_nice: int = 0,
    ) -> None:
        """`encoder_nice`: how much lower the forward passes' CPU priority is than the requests' (Linux
        nice, on the encoder's thread and the threads its library starts from it)."""
        self.encoder = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.device = getattr(encoder, "device", "cpu")
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000.0
        self.max_pending = max_pending
        self.max_queue_seconds = max_queue_seconds
        self.stats = BatcherStats()
        # Held weakly: a workspace's metrics go away with the workspace, the batcher may outlive it.
        self._observers: weakref.WeakSet[BatchObserver] = weakref.WeakSet()
        self._observers_lock = threading.Lock()
        self._pending: deque[_Request] = deque()
        self._unfinished = 0  # admitted requests whose future is not done (the loop's thread counts them)
        self._idle: asyncio.Event | None = None  # set while _unfinished is 0
        self._closing = False  # set once by drain or close; the loop reads it as it admits a request
        self._loop = asyncio.new_event_loop()
        self._wakeup: asyncio.Event | None = None
        self._inference = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="cerebro-encoder", initializer=_lower_priority, initargs=(encoder_nice,)
        )
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="cerebro-batcher", daemon=True)
        self._thread.start()
        ready.wait()

    # -- callers -----------------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> Embedded:
        """Vectors for the texts, from whatever batches take them; raises QueueFull when saturated."""
        self._check_count()
        prepared = await asyncio.get_running_loop().run_in_executor(None, self._prepare, list(texts))
        future = asyncio.run_coroutine_threadsafe(self._submit(prepared), self._loop)
        return await asyncio.wrap_future(future)

    def head_cutter(self) -> HeadCutter:
        return self.encoder.head_cutter()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """The Encoder protocol, for threads: blocks until the batches holding these texts are done."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        self._check_count()
        return self._wait(self._prepare(list(texts)))

    def embed_cut(self, pieces: Pieces) -> np.ndarray:
        """Like `embed_documents`, for texts cut already (`head_cutter`, perhaps in a worker process)."""
        if not pieces.pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        self._check_count()
        return self._wait(_Prepared(pieces, pieces.texts, 0.0))

    def _wait(self, prepared: _Prepared) -> np.ndarray:
        future = asyncio.run_coroutine_threadsafe(self._submit(prepared), self._loop)
        while True:
            try:
                return future.result(timeout=ABANDON_CHECK_SECONDS).vectors
            except concurrent.futures.TimeoutError:
                if abandoned():
                    future.cancel()  # its pieces not yet in a batch are never encoded
                    stop_if_abandoned()

    @property
    def accepting(self) -> bool:
        """False once a drain or close began: new requests are refused with BatcherClosed."""
        return not self._closing

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a batch to take (some of) their pieces."""
        return len(self._pending)

    def observe(self, observer: BatchObserver) -> None:
        with self._observers_lock:
            self._observers.add(observer)

    def drain(self, timeout: float) -> bool:
        """Admit no new request (`BatcherClosed`) and wait up to `timeout` seconds for those admitted to be
        encoded; False when some were still unfinished then. A shutting-down server drains the batcher
        before it saves its indexes, so the last writes are in them."""

        async def idle() -> None:
            assert self._idle is not None
            await self._idle.wait()

        # Set here, before the wait is scheduled: the loop admits a request (counting it) or refuses it in
        # one step, so by the time `idle` runs every request is either counted or refused.
        self._closing = True
        if not self._thread.is_alive():
            return True
        waiting = asyncio.run_coroutine_threadsafe(idle(), self._loop)
        try:
            waiting.result(timeout)
        except concurrent.futures.TimeoutError:
            waiting.cancel()
            return False
        return True

    def close(self) -> None:
        """Stop the loop at once: admitted requests still waiting are abandoned (`drain` first to finish them)."""

        async def stop() -> None:
            self._closing = True
            self._forming.cancel()
            self._loop.stop()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop(), self._loop)
            self._thread.join(timeout=5)
        self._inference.shutdown(wait=True)

    def _prepare(self, texts: list[str]) -> _Prepared:
        """Chunk and count on the caller's thread, so a long text never stalls the loop forming batches."""
        start = time.perf_counter()
        cut = Pieces(*self.encoder.prepare(texts))
        return _Prepared(cut, len(texts), (time.perf_counter() - start) * 1000)

    def _check_count(self) -> None:
        if self._closing:
            raise BatcherClosed("the server is shutting down")
        if len(self._pending) >= self.max_pending:
            self.stats.rejected += 1
            raise QueueFull(f"{len(self._pending)} requests are waiting for the encoder", self._drain_seconds())

    def _delay_seconds(self, tokens: int) -> float:
        """How long the queued work delays a request of `tokens` tokens, served in turn with it: each
        waiting request, by its remaining tokens or the new request's, whichever is fewer (0 until measured)."""
        speed = self.stats.tokens_per_second
        if not speed:
            return 0.0
        queued = (request.remaining_tokens for request in self._pending if not request.future.done())
        return sum(min(remaining, tokens) for remaining in queued) / speed

    def _drain_seconds(self) -> float:
        """How long the encoder needs for what is queued, at its measured speed (0 until measured)."""
        speed = self.stats.tokens_per_second
        return self._queued_tokens() / speed if speed else 0.0

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._forming = self._loop.create_task(self._form_batches())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(asyncio.gather(self._forming, return_exceptions=True))
        self._loop.close()

    async def _submit(self, prepared: _Prepared) -> Embedded:
        if not prepared.cut.pieces:  # no texts: nothing to batch
            return Embedded(np.empty((0, self.dimension), dtype=np.float32), Timings(0.0, 0.0, 0.0, 0))
        self._check_count()
        wait = self._delay_seconds(sum(prepared.cut.tokens))
        if wait > self.max_queue_seconds:
            self.stats.rejected += 1
            raise QueueFull(
                f"queued work would delay this request {wait:.0f} s (limit {self.max_queue_seconds:g} s)",
                wait - self.max_queue_seconds,
            )
        vectors = np.empty((len(prepared.cut.pieces), self.dimension), dtype=np.float32)
        request = _Request(prepared, self._loop.create_future(), vectors, sum(prepared.cut.tokens))
        self._admit(request)
        self._pending.append(request)
        self.stats.requests += 1
        assert self._wakeup is not None
        self._wakeup.set()
        return await request.future

    def _admit(self, request: _Request) -> None:
        """Count the request until its future is done (vectors, an error, or its caller gone)."""
        assert self._idle is not None
        self._unfinished += 1
        self._idle.clear()
        request.future.add_done_callback(self._finished)

    def _finished(self, _future: asyncio.Future) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            assert self._idle is not None
            self._idle.set()

    async def _form_batches(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            # The batch closes at the token budget or when its oldest request has waited long enough.
            deadline = self._pending[0].enqueued + self.max_wait
            while self._queued_tokens() < self.max_batch_tokens and time.perf_counter() < deadline:
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    break
            batch = self._take_batch()
            if batch:
                await self._run_batch(batch)

    def _queued_tokens(self) -> int:
        return sum(request.remaining_tokens for request in self._pending if not request.future.done())

    def _take_batch(self) -> list[tuple[_Request, int]]:
        """(request, piece) pairs up to the token budget, one piece per waiting request in turn."""
        for request in [request for request in self._pending if request.future.done()]:
            self._pending.remove(request)  # the caller went away: its pieces cost nothing more
            self.stats.dropped += 1
        batch: list[tuple[_Request, int]] = []
        tokens = 0
        full = False
        while not full and any(request.untaken for request in self._pending):
            for request in self._pending:
                if not request.untaken:
                    continue
                cost = request.prepared.cut.tokens[request.next_piece]
                if batch and tokens + cost > self.max_batch_tokens:
                    full = True
                    break
                batch.append((request, request.next_piece))
                request.next_piece += 1
                request.remaining_tokens -= cost
                tokens += cost
        now = time.perf_counter()
        for request, _ in batch:
            request.taken_at = request.taken_at or now
        for request in [request for request in self._pending if not request.untaken]:
            self._pending.remove(request)  # every piece is in a batch; it completes when they return
        return batch

    async def _run_batch(self, batch: list[tuple[_Request, int]]) -> None:
        taken = time.perf_counter()
        pieces = [request.prepared.cut.pieces[piece] for request, piece in batch]
        try:
            vectors = await self._loop.run_in_executor(self._inference, self.encoder.encode_pieces, pieces)
        except Exception as error:  # noqa: BLE001 - every caller in the batch gets the encoder's error
            for request, _ in batch:
                if not request.future.done():
                    request.future.set_exception(error)
                if request in self._pending:
                    self._pending.remove(request)
            return
        seconds = time.perf_counter() - taken
        tokens = sum(request.prepared.cut.tokens[piece] for request, piece in batch)
        self._measure(tokens, len(pieces), seconds)
        for (request, piece), vector in zip(batch, vectors):
            request.vectors[piece] = vector
            request.encoded += 1
        waits: list[float] = []
        for request in dict.fromkeys(request for request, _ in batch):
            request.inference_ms += seconds * 1000
            request.batch_pieces = max(request.batch_pieces, len(pieces))
            if request.encoded == len(request.prepared.cut.pieces) and not request.future.done():
                finished = self._finish(request)
                request.future.set_result(finished)
                self.stats.texts += request.prepared.texts
                waits.append(finished.timings.queue_ms / 1000)
        self._notify(BatchRun(len(pieces), tokens, seconds, tuple(waits)))

    def _measure(self, tokens: int, pieces: int, seconds: float) -> None:
        self.stats.batches += 1
        self.stats.pieces += pieces
        if seconds > 0 and tokens > 0:
            speed, previous = tokens / seconds, self.stats.tokens_per_second
            self.stats.tokens_per_second = (
                speed if previous is None else SPEED_SMOOTHING * speed + (1 - SPEED_SMOOTHING) * previous
            )

    def _notify(self, run: BatchRun) -> None:
        with self._observers_lock:
            observers = list(self._observers)
        for observer in observers:
            observer.batch_ran(run)

    def _finish(self, request: _Request) -> Embedded:
        prepared = request.prepared
        timings = Timings(
            ((request.taken_at or request.enqueued) - request.enqueued) * 1000,
            prepared.tokenize_ms,
            request.inference_ms,
            request.batch_pieces,
        )
        pooled = self.encoder.pool(prepared.cut.pieces, prepared.cut.owners, request.vectors, prepared.texts)
        return Embedded(pooled, timings)
