"""How much more a candidate resembles the candidates rated good for a job than those rated poor.

A workspace's recruiters may call good what no text says: the people of another occupation they move
internally, say. The job's own ratings say it: the feature is 0.5 plus the candidate's mean similarity to
the job's rated-good candidates minus its mean similarity to the rated-poor ones, on the experience view
(what the people did), clipped to [0, 1]. It is neutral (0.5) for a job without both kinds of rating, so an
algorithm that weighs it ranks unrated jobs as before. A candidate that is itself rated counts against the
others only (leave one out): the training computes it so, and a rated candidate scored again then weighs
what the other ratings say of it, as a new applicant's is computed.

Measured before it was built (bench/RESULTS.md): on 300 ratings of the internal-mobility notion, the rated
jobs' new applicants ranked by the base plus this contrast reach P@10 0.75 against 0.63.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerebro_serve.engine.views import VIEWS
from cerebro_serve.index.columns import ColumnArrays

NEUTRAL = 0.5  # csrc/rerank.cpp kNeutral
VIEW = VIEWS.index("experience")  # of a record's view vectors, the one compared


@dataclass(frozen=True, slots=True)
class Exemplars:
    """The candidates rated for an anchor: their record ids, experience vectors (unit length, or zeros where
    the record has no experience text, which then does not count) and whether each was rated good."""

    ids: np.ndarray  # int64
    vectors: np.ndarray  # float32, len(ids) x dim
    good: np.ndarray  # bool

    @property
    def contrasted(self) -> bool:
        """Whether both kinds of rating are there (else every candidate's resemblance is neutral)."""
        return bool(self.good.any() and (~self.good).any())


def pool_resemblance(columns: ColumnArrays, rows: np.ndarray, exemplars: Exemplars | None) -> np.ndarray:
    """`resemblance` of a pool's candidate rows, read from its columns (the re-ranker's input)."""
    if exemplars is None or not exemplars.contrasted or not len(rows):
        return np.full(len(rows), NEUTRAL, dtype=np.float32)
    vectors = columns.experience[rows].astype(np.float32) * columns.experience_scale[rows, None]
    return resemblance(columns.record_ids[rows], vectors, exemplars)


def resemblance(candidate_ids: np.ndarray, candidate_vectors: np.ndarray, exemplars: Exemplars | None) -> np.ndarray:
    """Each candidate's resemblance (float32) from its record id and experience vector (rows x dim; a row of
    zeros, a candidate with no experience text, is neutral)."""
    out = np.full(len(candidate_ids), NEUTRAL, dtype=np.float32)
    if exemplars is None or not exemplars.contrasted or not len(candidate_ids):
        return out
    similarity = np.asarray(candidate_vectors, dtype=np.float32) @ exemplars.vectors.T
    # A rated candidate with no experience text says nothing of it; the candidate itself is left out.
    counted = (candidate_ids[:, None] != exemplars.ids[None, :]) & np.any(exemplars.vectors != 0, axis=1)
    good_count = (counted & exemplars.good).sum(axis=1)
    poor_count = (counted & ~exemplars.good).sum(axis=1)
    good_sum = np.where(counted & exemplars.good, similarity, 0.0).sum(axis=1)
    poor_sum = np.where(counted & ~exemplars.good, similarity, 0.0).sum(axis=1)
    known = (good_count > 0) & (poor_count > 0) & np.any(candidate_vectors != 0, axis=1)
    contrast = good_sum[known] / good_count[known] - poor_sum[known] / poor_count[known]
    out[known] = np.clip(NEUTRAL + contrast, 0.0, 1.0)
    return out
