"""The dynamic batcher: texts from many concurrent callers share forward passes.

An asyncio loop on its own thread forms batches: a batch closes when its pieces (chunks of the callers'
texts) reach the token budget, or when the oldest waiting request has waited `max_wait_ms`. One batch is
in flight on the encoder while the next one forms. Admission is bounded: past `max_pending` waiting
requests, `embed` raises `QueueFull` at once (the API answers 429) instead of queueing without end.
A caller that goes away (a cancelled task, a closed connection) is dropped before its texts are encoded.
Async callers `await embed(...)`; threads call `embed_documents` (the Encoder protocol), so indexing and
scoring share the same batches.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cerebro_serve.engine.encoder import PooledEncoder


class QueueFull(Exception):
    """The batcher is at capacity: retry later."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Where one request's time went, in milliseconds."""

    queue_ms: float  # waiting for a batch to take it
    tokenize_ms: float  # chunking and counting its texts
    inference_ms: float  # the forward pass its batch took
    batch_pieces: int  # pieces in that batch, all callers together


@dataclass(frozen=True, slots=True)
class Embedded:
    vectors: np.ndarray
    timings: Timings


@dataclass(eq=False)
class _Request:
    pieces: list[str]
    owners: list[int]
    tokens: int
    texts: int
    tokenize_ms: float
    future: asyncio.Future
    enqueued: float = field(default_factory=time.perf_counter)


@dataclass
class BatcherStats:
    batches: int = 0
    pieces: int = 0
    requests: int = 0
    rejected: int = 0
    dropped: int = 0


class DynamicBatcher:
    def __init__(
        self,
        encoder: PooledEncoder,
        *,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_pending: int,
    ) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.device = getattr(encoder, "device", "cpu")
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000.0
        self.max_pending = max_pending
        self.stats = BatcherStats()
        self._pending: deque[_Request] = deque()
        self._loop = asyncio.new_event_loop()
        self._wakeup: asyncio.Event | None = None
        self._inference = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cerebro-encoder")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="cerebro-batcher", daemon=True)
        self._thread.start()
        ready.wait()

    # -- callers -----------------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> Embedded:
        """Vectors for the texts, from whatever batch takes them; raises QueueFull when saturated."""
        future = asyncio.run_coroutine_threadsafe(self._submit(list(texts)), self._loop)
        return await asyncio.wrap_future(future)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """The Encoder protocol, for threads: blocks until the batch holding these texts is done."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return asyncio.run_coroutine_threadsafe(self._submit(list(texts)), self._loop).result().vectors

    def close(self) -> None:
        async def stop() -> None:
            self._forming.cancel()
            self._loop.stop()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop(), self._loop)
            self._thread.join(timeout=5)
        self._inference.shutdown(wait=True)

    # -- the loop ----------------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._wakeup = asyncio.Event()
        self._forming = self._loop.create_task(self._form_batches())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(asyncio.gather(self._forming, return_exceptions=True))
        self._loop.close()

    async def _submit(self, texts: list[str]) -> Embedded:
        if len(self._pending) >= self.max_pending:
            self.stats.rejected += 1
            raise QueueFull(f"{len(self._pending)} requests are waiting for the encoder")
        start = time.perf_counter()
        pieces, owners, tokens = self.encoder.prepare(texts)
        request = _Request(
            pieces, owners, sum(tokens), len(texts), (time.perf_counter() - start) * 1000, self._loop.create_future()
        )
        self._pending.append(request)
        self.stats.requests += 1
        assert self._wakeup is not None
        self._wakeup.set()
        return await request.future

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
        return sum(request.tokens for request in self._pending if not request.future.done())

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        tokens = 0
        while self._pending:
            request = self._pending[0]
            if request.future.done():  # the caller went away
                self._pending.popleft()
                self.stats.dropped += 1
                continue
            if batch and tokens + request.tokens > self.max_batch_tokens:
                break
            batch.append(self._pending.popleft())
            tokens += request.tokens
        return batch

    async def _run_batch(self, batch: list[_Request]) -> None:
        taken = time.perf_counter()
        pieces = [piece for request in batch for piece in request.pieces]
        try:
            vectors = await self._loop.run_in_executor(self._inference, self.encoder.encode_pieces, pieces)
        except Exception as error:  # noqa: BLE001 - every waiting caller gets the encoder's error
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        inference_ms = (time.perf_counter() - taken) * 1000
        self.stats.batches += 1
        self.stats.pieces += len(pieces)
        offset = 0
        for request in batch:
            own = vectors[offset : offset + len(request.pieces)]
            offset += len(request.pieces)
            if request.future.done():
                continue
            timings = Timings((taken - request.enqueued) * 1000, request.tokenize_ms, inference_ms, len(pieces))
            pooled = self.encoder.pool(request.pieces, request.owners, own, request.texts)
            request.future.set_result(Embedded(pooled, timings))
