"""Scoring algorithms: fusion weights over the re-ranker's features, turning them into a calibrated score.

An algorithm is a logistic model `sigmoid(bias + weights . features)`. `cerebro-base` (a job against
profiles, or a profile against jobs) and `cerebro-match` (a profile against profiles, a job against jobs)
ship in `data/`, fitted by `bench/fit_base.py` on the development data (see bench/RESULTS.md).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cerebro_serve import _native

# The re-ranker's features, in the order csrc/rerank.cpp computes them.
FEATURES = (
    "cosine",  # full-text views
    "title_similarity",
    "skills_similarity",
    "skill_coverage",  # weighted share of the job's skills the profile has
    "experience_fit",  # years against the job's requirement
    "education_fit",
    "language_match",
    "proximity",
    "keyword_match",  # BM25 of the job's words in the profile, over its maximum
)
assert len(FEATURES) == _native.FEATURE_COUNT
BASE_ALGORITHM = "cerebro-base"
MATCHING_ALGORITHM = "cerebro-match"  # like against like: profiles/matching and jobs/matching
DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: str
    version: int
    weights: np.ndarray  # float32, one per feature
    bias: float

    @classmethod
    def from_file(cls, path: Path) -> Algorithm:
        data = json.loads(path.read_text())
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path} was fitted on other features: {data['features']}")
        return cls(data["name"], int(data.get("version", 1)), np.asarray(data["weights"], dtype=np.float32), float(data["bias"]))

    def score(self, features: np.ndarray) -> np.ndarray:
        """The same fusion as the native re-ranker, for a few rows in Python (explanations, tests)."""
        logits = self.bias + np.asarray(features, dtype=np.float32) @ self.weights
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


@functools.cache
def base_algorithm() -> Algorithm:
    return Algorithm.from_file(DATA_DIR / f"{BASE_ALGORITHM}.json")


@functools.cache
def matching_algorithm() -> Algorithm:
    return Algorithm.from_file(DATA_DIR / f"{MATCHING_ALGORITHM}.json")
