"""Filtered top-k selection, done natively (C++, GIL released), and the order of pages sorted by date."""

from __future__ import annotations

import numpy as np

from cerebro_serve import _native


def topk(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions and scores of the k best masked, non-NaN scores; score descending, ties by position."""
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=bool)
    return _native.topk(scores, mask, int(k))


def order_by_date(ids: np.ndarray, dates: np.ndarray, descending: bool) -> np.ndarray:
    """Positions sorted by date, ties by id, both in the requested direction."""
    order = np.lexsort((ids, dates))
    return order[::-1] if descending else order
