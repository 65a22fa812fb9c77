"""What a write computes of a record before the encoder reads it: its features, and its views cut to the
heads the encoder reads (tokenized: the pieces and their token counts). Pure CPU and picklable, so that a
bulk import computes it in worker processes ahead of the encoder (on a GPU node the encoder outpaces one
core's feature extraction and tokenizing several times over), and the importing process tokenizes
nothing before the model's own batches."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from cerebro_serve.engine.chunking import word_cut
from cerebro_serve.engine.encoder import HeadCutter
from cerebro_serve.engine.views import CutViews, cut_views, head_tokens, view_texts
from cerebro_serve.objects import Record
from cerebro_serve.record_features import REFUSES_EMBEDDING, RecordFeatures
from cerebro_serve.scoring.features import FeatureExtractor


@dataclass(frozen=True, slots=True)
class Prepared:
    """`full_text`: the full-text view whole (what keyword search matches); `views`: the views as the encoder
    reads them (capped, cut to their heads), None when the record's consent withholds embedding."""

    features: RecordFeatures
    full_text: str
    views: CutViews | None


class Preparer:
    def __init__(self, extractor: FeatureExtractor, embed_max_chars: int, cutter: HeadCutter, model: str) -> None:
        """`cutter`: the encoder's (`Encoder.head_cutter`); `model`: its name (how far it reads a profile)."""
        self.extractor = extractor
        self.embed_max_chars = embed_max_chars
        self.cutter = cutter
        self.model = model

    def __call__(self, record: Record) -> Prepared:
        features = self.extractor.of(record)
        texts = view_texts(record, features.title, features.skills_text)
        withheld = bool(features.refusals & REFUSES_EMBEDDING)
        views = (
            None
            if withheld
            else cut_views(self.cutter, [self.capped(text) for text in texts], head_tokens(record, self.model))
        )
        return Prepared(features, texts[0], views)

    def capped(self, text: str) -> str:
        if len(text) <= self.embed_max_chars:
            return text
        return text[: word_cut(text, self.embed_max_chars)]


def default_workers() -> int:
    """Every core but two: one for the importing process (encoder calls, store commits), one for the
    encoder's own work on a CPU node."""
    return max(0, (os.cpu_count() or 1) - 2)


class PreparationPool:
    """Worker processes that prepare batches of records; with no workers, batches are prepared in this
    process when asked. Spawned, not forked: the importing process runs the encoder's threads."""

    def __init__(self, local: Preparer, workers: int) -> None:
        """`local`: prepares batches when there are no workers; each worker makes one like it."""
        self._local = local
        self._executor = (
            ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(local.embed_max_chars, local.cutter, local.model),
            )
            if workers > 0
            else None
        )

    def submit(self, records: Sequence[Record]) -> Future[list[Prepared]]:
        if self._executor is None:
            done: Future[list[Prepared]] = Future()
            done.set_result([self._local(record) for record in records])
            return done
        return self._executor.submit(_prepare, list(records))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PreparationPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


_worker: Preparer | None = None


def _start_worker(embed_max_chars: int, cutter: HeadCutter, model: str) -> None:
    global _worker
    _worker = Preparer(FeatureExtractor(), embed_max_chars, cutter, model)
    _worker.extractor.lexicon  # noqa: B018 - loaded once per worker, before the first batch


def _prepare(records: list[Record]) -> list[Prepared]:
    assert _worker is not None, "the pool's initializer prepares the worker"
    return [_worker(record) for record in records]
