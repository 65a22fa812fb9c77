"""Types of the native module built from csrc/ (pybind11): what Python hands to C++ and gets back."""

from typing import Any

import numpy as np

FEATURE_COUNT: int
TERM_BUCKETS: int
SIDE_VIEWS: tuple[str, ...]

def topk(scores: np.ndarray, mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]: ...
def rerank(
    pool: Any,  # index.columns.ColumnArrays
    query: Any,  # scoring.rerank.QueryFeatures
    weights: np.ndarray,
    bias: float,
    trees: Any,  # scoring.algorithms.Trees or None
    rows: np.ndarray,
    cosine: np.ndarray,
    resemblance: np.ndarray,
    k: int,
    threshold: float,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]: ...
def features(
    pool: Any, query: Any, rows: np.ndarray, cosine: np.ndarray, resemblance: np.ndarray, threads: int
) -> np.ndarray: ...
