"""How good a version is, on its training and its validation pairs, as data ready to plot (scikit-learn)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics

HISTOGRAM_BINS = 20
ROC_POINTS = 101  # the curve is resampled on a fixed false-positive grid, so a plot stays small
RANKING_DEPTH = 10


def evaluate(labels: np.ndarray, scores: np.ndarray, relevance: np.ndarray, queries: Sequence[int]) -> dict[str, Any]:
    """Classification at 0.5, the ROC curve, errors of the score against the label, score distributions
    of positives and negatives, and ranking quality per query (each job's candidates, graded relevance)."""
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    predicted = (scores >= 0.5).astype(int)
    both_classes = len(set(labels.tolist())) == 2
    if both_classes:
        fpr, tpr, _ = metrics.roc_curve(labels, scores)
    else:
        fpr = tpr = np.array([0.0, 1.0])
    grid = np.linspace(0.0, 1.0, ROC_POINTS)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    return {
        "count": int(len(labels)),
        "positives": int(labels.sum()),
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "precision": float(metrics.precision_score(labels, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(labels, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(labels, predicted, zero_division=0)),
        "confusion_matrix": metrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "auc": float(metrics.roc_auc_score(labels, scores)) if both_classes else None,
        "roc_curve": {"fpr": grid.round(4).tolist(), "tpr": np.interp(grid, fpr, tpr).round(4).tolist()},
        "mae": float(metrics.mean_absolute_error(labels, scores)),
        "mse": float(metrics.mean_squared_error(labels, scores)),
        "log_loss": float(metrics.log_loss(labels, np.clip(scores, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "score_distribution": {
            "bins": edges.round(3).tolist(),
            "positives": np.histogram(scores[labels == 1], bins=edges)[0].tolist(),
            "negatives": np.histogram(scores[labels == 0], bins=edges)[0].tolist(),
        },
        **ranking(scores, relevance, labels, queries),
    }


def ranking(scores: np.ndarray, relevance: np.ndarray, labels: np.ndarray, queries: Sequence[int]) -> dict[str, Any]:
    """nDCG@10 (graded relevance) and average precision (binary labels) per query, and their means over
    the queries that can be ranked (two candidates or more; for AP, at least one positive)."""
    by_query: dict[int, list[int]] = defaultdict(list)
    for position, query in enumerate(queries):
        by_query[query].append(position)
    ndcg, average_precision = {}, {}
    for query, positions in by_query.items():
        if len(positions) < 2:
            continue
        rows = np.asarray(positions)
        ndcg[query] = float(metrics.ndcg_score([relevance[rows]], [scores[rows]], k=RANKING_DEPTH))
        if labels[rows].any():
            average_precision[query] = float(metrics.average_precision_score(labels[rows], scores[rows]))
    return {
        "ndcg@10": float(np.mean(list(ndcg.values()))) if ndcg else None,
        "map": float(np.mean(list(average_precision.values()))) if average_precision else None,
        "queries": len(ndcg),
        "ndcg@10_per_query": {str(query): round(value, 4) for query, value in ndcg.items()},
        "average_precision_per_query": {str(query): round(value, 4) for query, value in average_precision.items()},
    }
