"""The call into the native fused re-ranker (csrc/rerank.cpp), with the query side's features."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cerebro_serve import _native
from cerebro_serve.index.columns import ColumnArrays
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.resemblance import NEUTRAL, Exemplars, pool_resemblance

THREADS = max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class QueryFeatures:
    """The anchor of a scoring call (a job, or a profile), as the re-ranker reads it."""

    title: np.ndarray | None  # the side views (index/columns.py SIDE_VIEWS); None when empty
    skills: np.ndarray | None
    experience: np.ndarray | None
    skill_ids: np.ndarray
    skill_weights: np.ndarray
    years: float
    education: int
    languages: int
    lat: float
    lng: float
    term_ids: np.ndarray
    term_freqs: np.ndarray
    length: float
    is_job: bool
    preferred_term_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    # The candidates rated for the anchor, for an algorithm that weighs resembling them (scoring/resemblance.py).
    exemplars: Exemplars | None = None

    @classmethod
    def of(
        cls,
        features: RecordFeatures,
        embedding: np.ndarray,
        is_job: bool,
        preferred_terms: Sequence[int] = (),
        exemplars: Exemplars | None = None,
    ) -> QueryFeatures:
        """From an anchor's features and its view vectors (VIEWS order; an empty view is all zeros), with the
        scoring algorithm's preferred words (`Algorithm.preferred_terms`; read only for a job's query) and
        the candidates rated for it."""
        title, skills, experience = (
            np.ascontiguousarray(vector, dtype=np.float32) if np.any(vector) else None for vector in embedding[1:]
        )
        return cls(
            title=title,
            skills=skills,
            experience=experience,
            skill_ids=np.asarray(features.skill_ids, dtype=np.uint32),
            skill_weights=np.asarray(features.skill_weights, dtype=np.float32),
            years=features.years,
            education=features.education,
            languages=features.languages,
            lat=float("nan") if features.lat is None else features.lat,
            lng=float("nan") if features.lng is None else features.lng,
            term_ids=np.asarray(features.terms, dtype=np.uint32),
            term_freqs=np.asarray(features.term_freqs, dtype=np.uint8),
            length=float(features.length),
            is_job=is_job,
            preferred_term_ids=np.asarray(sorted(preferred_terms), dtype=np.uint32),
            exemplars=exemplars,
        )


@dataclass(frozen=True, slots=True)
class Reranked:
    positions: np.ndarray  # into the candidates given, best first
    scores: np.ndarray
    features: np.ndarray  # len(positions) x len(FEATURES)
    passed: int  # candidates at or above the threshold


def rerank(
    columns: ColumnArrays,
    query: QueryFeatures,
    algorithm: Algorithm,
    rows: np.ndarray,
    cosine: np.ndarray,
    k: int,
    threshold: float = 0.0,
) -> Reranked:
    resemblance = _resemblance(columns, query, rows)
    positions, scores, features, passed = _native.rerank(
        columns,
        query,
        algorithm.weights,
        algorithm.bias,
        algorithm.trees,
        rows,
        cosine,
        resemblance,
        k,
        threshold,
        THREADS,
    )
    return Reranked(positions, scores, features, int(passed))


def features_of(columns: ColumnArrays, query: QueryFeatures, rows: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    return _native.features(columns, query, rows, cosine, _resemblance(columns, query, rows), THREADS)


def _resemblance(columns: ColumnArrays, query: QueryFeatures, rows: np.ndarray) -> np.ndarray:
    """Checked by the native call as its other inputs are (a row out of range is refused there)."""
    rows = np.asarray(rows)
    if query.exemplars is None or rows.ndim != 1 or len(rows) == 0 or rows.min() < 0 or rows.max() >= columns.rows:
        return np.full(rows.shape[0] if rows.ndim else 0, NEUTRAL, dtype=np.float32)
    return pool_resemblance(columns, rows.astype(np.int64), query.exemplars)
