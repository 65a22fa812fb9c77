"""The dynamic batcher: callers share batches, results match unbatched encoding, overload is refused at
once, and callers that go away are dropped before their texts are encoded."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import make_batcher

from cerebro_serve.engine.batcher import QueueFull


class SlowEncoder:
    """Wraps the real encoder and holds each forward pass until released, to control batch timing."""

    def __init__(self, encoder) -> None:
        self.inner = encoder
        self.name, self.dimension = encoder.name, encoder.dimension
        self.release = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def prepare(self, texts):
        return self.inner.prepare(texts)

    def pool(self, pieces, owners, vectors, count):
        return self.inner.pool(pieces, owners, vectors, count)

    def encode_pieces(self, pieces):
        self.batches.append(list(pieces))
        self.started.set()
        self.release.wait(timeout=30)
        return self.inner.encode_pieces(pieces)


def test_concurrent_callers_share_batches_and_get_their_own_vectors(encoder) -> None:
    batcher = make_batcher(encoder, max_wait_ms=50)
    texts = [f"candidate {i} knows python, sql and kubernetes" for i in range(24)] + ["pastry chef " * 300]
    try:
        with ThreadPoolExecutor(8) as pool:
            vectors = list(pool.map(lambda text: batcher.embed_documents([text])[0], texts))
        expected = encoder.embed_documents(texts)
        np.testing.assert_allclose(np.stack(vectors), expected, atol=1e-4)
        assert batcher.stats.batches < len(texts)  # several callers per forward pass
        assert batcher.stats.requests == len(texts)
    finally:
        batcher.close()


def test_async_callers_get_timings(encoder) -> None:
    batcher = make_batcher(encoder, max_wait_ms=20)

    async def run():
        return await asyncio.gather(*(batcher.embed([f"text {i}", "python developer"]) for i in range(6)))

    try:
        results = asyncio.run(run())
        for result in results:
            assert result.vectors.shape == (2, encoder.dimension)
            assert result.timings.queue_ms >= 0 and result.timings.inference_ms > 0
            assert result.timings.batch_pieces >= 2
        assert max(r.timings.batch_pieces for r in results) > 2
    finally:
        batcher.close()


def test_overload_is_refused_at_once_and_cancelled_callers_are_dropped(encoder) -> None:
    slow = SlowEncoder(encoder)
    batcher = make_batcher(slow, max_wait_ms=1, max_pending=2)

    async def scenario():
        first = asyncio.ensure_future(batcher.embed(["in flight"]))
        await asyncio.get_running_loop().run_in_executor(None, slow.started.wait, 10)
        # The first batch is held in the encoder; two more wait; a fourth is refused immediately.
        waiting = [asyncio.ensure_future(batcher.embed([f"waiting {i}"])) for i in range(2)]
        await asyncio.sleep(0.2)
        with pytest.raises(QueueFull):
            await batcher.embed(["one too many"])
        waiting[0].cancel()  # this caller goes away before its batch forms
        await asyncio.sleep(0.2)
        slow.release.set()
        await first
        kept = await waiting[1]
        return kept

    try:
        kept = asyncio.run(scenario())
        assert kept.vectors.shape == (1, encoder.dimension)
        encoded = [piece for batch in slow.batches for piece in batch]
        assert "waiting 0" not in encoded and "waiting 1" in encoded and "one too many" not in encoded
        assert batcher.stats.rejected == 1 and batcher.stats.dropped == 1
    finally:
        slow.release.set()
        batcher.close()


def test_encoder_errors_reach_every_caller(encoder) -> None:
    class Broken(SlowEncoder):
        def encode_pieces(self, pieces):
            raise RuntimeError("model crashed")

    batcher = make_batcher(Broken(encoder))
    try:
        with pytest.raises(RuntimeError, match="model crashed"):
            batcher.embed_documents(["anything"])
    finally:
        batcher.close()
