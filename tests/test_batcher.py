"""The dynamic batcher: callers share batches, results match unbatched encoding, overload is refused at
once, callers that go away are dropped before their texts are encoded, and a drain finishes what was
admitted while it refuses the rest."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import make_batcher

from cerebro_serve.engine.batcher import BatcherClosed, QueueFull


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

    def head_cutter(self):
        return self.inner.head_cutter()

    def pool(self, pieces, owners, vectors, count):
        return self.inner.pool(pieces, owners, vectors, count)

    def encode_pieces(self, pieces):
        self.batches.append(list(pieces))
        self.started.set()
        self.release.wait(timeout=30)
        return self.inner.encode_pieces(pieces)


def test_concurrent_callers_share_batches_and_get_their_own_vectors(encoder) -> None:
    batcher = make_batcher(encoder, batch_wait_ms=50)
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
    batcher = make_batcher(encoder, batch_wait_ms=20)

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
    batcher = make_batcher(slow, batch_wait_ms=1, max_pending=2)

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


class CountedEncoder:
    """A stand-in encoder with a known cost: `text*n` is n pieces of 100 tokens, each taking 2 ms."""

    name, dimension = "counted", 4

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def prepare(self, texts):
        pieces, owners = [], []
        for owner, text in enumerate(texts):
            word, _, count = text.partition("*")
            for number in range(int(count or 1)):
                pieces.append(f"{word}#{number}")
                owners.append(owner)
        return pieces, owners, [100] * len(pieces)

    def encode_pieces(self, pieces):
        time.sleep(0.002 * len(pieces))
        self.encoded.extend(pieces)
        return np.ones((len(pieces), self.dimension), dtype=np.float32) / 2

    def pool(self, pieces, owners, vectors, count):
        return np.ones((count, self.dimension), dtype=np.float32) / 2


def test_a_long_request_does_not_hold_the_encoder_from_short_ones() -> None:
    counted = CountedEncoder()
    batcher = make_batcher(counted, batch_tokens=1000, batch_wait_ms=1, max_queue_seconds=1e9)
    try:
        with ThreadPoolExecutor(2) as pool:
            big = pool.submit(batcher.embed_documents, ["big*400"])  # 40 batches of 10 pieces alone
            time.sleep(0.05)
            pool.submit(batcher.embed_documents, ["small*2"]).result(timeout=30)
            assert not big.done()  # the small request finished while the big one was still being encoded
            big.result(timeout=60)
        # Interleaved: both small pieces went into the first batches formed after it arrived.
        first_small = counted.encoded.index("small#0")
        assert counted.encoded.index("small#1") - first_small < 10
    finally:
        batcher.close()


def test_a_caller_that_goes_away_stops_costing_encoder_time() -> None:
    counted = CountedEncoder()
    batcher = make_batcher(counted, batch_tokens=1000, batch_wait_ms=1, max_queue_seconds=1e9)

    async def scenario() -> None:
        big = asyncio.ensure_future(batcher.embed(["big*1000"]))
        await asyncio.sleep(0.1)
        big.cancel()
        await asyncio.sleep(0.2)

    try:
        asyncio.run(scenario())
        encoded_then = len(counted.encoded)
        time.sleep(0.2)
        assert 0 < encoded_then < 1000 and len(counted.encoded) == encoded_then  # nothing more of it ran
        assert batcher.stats.dropped == 1
    finally:
        batcher.close()


def test_admission_by_cost_refuses_in_milliseconds_with_a_retry_time() -> None:
    counted = CountedEncoder()
    batcher = make_batcher(counted, batch_tokens=1000, batch_wait_ms=1, max_queue_seconds=0.5)
    try:
        batcher.embed_documents(["warm*20"])  # the batcher measures the encoder: ~50,000 tokens/s
        speed = batcher.stats.tokens_per_second
        assert speed is not None and 10_000 < speed < 100_000
        with ThreadPoolExecutor(1) as pool:
            big = pool.submit(batcher.embed_documents, ["big*600"])  # ~1.2 s of work, admitted: nothing queued
            time.sleep(0.05)
            with pytest.raises(QueueFull) as refused:
                batcher.embed_documents(["second*600"])  # served in turn with the first: ~1 s of delay
            assert not big.done()  # refused at once, not after the queued work drained
            assert 0 < refused.value.retry_after < 2.0
            big.result(timeout=30)
        assert batcher.embed_documents(["second*600"]).shape == (1, 4)  # the queue drained: admitted again
    finally:
        batcher.close()


def test_a_bulk_request_leaves_room_for_small_ones() -> None:
    """Served in turn, a short request waits for a piece of the bulk one per batch, not for all of it: it
    is admitted and answered while the bulk request is still being encoded."""
    counted = CountedEncoder()
    batcher = make_batcher(counted, batch_tokens=1000, batch_wait_ms=1, max_queue_seconds=0.5)
    try:
        batcher.embed_documents(["warm*20"])
        with ThreadPoolExecutor(1) as pool:
            big = pool.submit(batcher.embed_documents, ["big*600"])
            time.sleep(0.05)
            assert batcher.embed_documents(["small*2"]).shape == (1, 4)
            assert not big.done()
            big.result(timeout=30)
        assert batcher.stats.rejected == 0
    finally:
        batcher.close()


def test_an_empty_request_answers_at_once(encoder) -> None:
    batcher = make_batcher(encoder)
    try:
        assert asyncio.run(batcher.embed([])).vectors.shape == (0, encoder.dimension)
        assert batcher.embed_documents([]).shape == (0, encoder.dimension)
    finally:
        batcher.close()


def test_a_drain_finishes_what_was_admitted_and_refuses_the_rest(encoder) -> None:
    slow = SlowEncoder(encoder)
    batcher = make_batcher(slow, batch_wait_ms=1)
    try:
        with ThreadPoolExecutor(2) as pool:
            admitted = pool.submit(batcher.embed_documents, ["admitted before the drain"])
            assert slow.started.wait(30)  # its batch is in the encoder
            drained = pool.submit(batcher.drain, 30)
            while batcher.accepting:  # the drain began on the other thread
                time.sleep(0.01)
            with pytest.raises(BatcherClosed):
                batcher.embed_documents(["after the drain began"])
            with pytest.raises(BatcherClosed):
                asyncio.run(batcher.embed(["an async caller too"]))
            assert not drained.done()  # it waits for the admitted request
            slow.release.set()
            assert drained.result(timeout=30) is True
            assert admitted.result(timeout=30).shape == (1, encoder.dimension)
        assert [piece for batch in slow.batches for piece in batch] == ["admitted before the drain"]
    finally:
        slow.release.set()
        batcher.close()


def test_a_drain_that_runs_out_of_time_says_so(encoder) -> None:
    slow = SlowEncoder(encoder)
    batcher = make_batcher(slow, batch_wait_ms=1)
    try:
        with ThreadPoolExecutor(1) as pool:
            admitted = pool.submit(batcher.embed_documents, ["held in the encoder"])
            assert slow.started.wait(30)
            assert batcher.drain(0.05) is False
            slow.release.set()
            admitted.result(timeout=30)
        assert batcher.drain(30) is True  # nothing left
    finally:
        slow.release.set()
        batcher.close()
    with pytest.raises(BatcherClosed):
        batcher.embed_documents(["after close"])


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread priorities are Linux's")
def test_the_encoder_runs_at_a_lower_cpu_priority_than_requests(encoder) -> None:
    batcher = make_batcher(encoder, encoder_nice=7)
    try:
        batcher.embed_documents(["a forward pass starts the encoder's thread"])
        threads = [thread for thread in threading.enumerate() if thread.name.startswith("cerebro-encoder")]
        priorities = {os.getpriority(os.PRIO_PROCESS, thread.native_id) for thread in threads if thread.native_id}
        assert 7 in priorities and os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0
    finally:
        batcher.close()
