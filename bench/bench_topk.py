"""Native filtered top-k against numpy on the same data, same run.

Baselines: `np.argsort` of the masked scores (what a naive service does) and `np.argpartition` + a sort of
the k survivors (the best pure-numpy way). Usage: .venv/bin/python bench/bench_topk.py
"""

from __future__ import annotations

import platform
import time

import numpy as np

from cerebro_serve.index.topk import topk

K = 30
REPEATS = 20


def median_ms(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def numpy_sort(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    masked = np.where(mask & ~np.isnan(scores), scores, -np.inf)
    return np.argsort(-masked, kind="stable")[:K]


def numpy_partition(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    masked = np.where(mask & ~np.isnan(scores), scores, -np.inf)
    part = np.argpartition(-masked, K)[:K]
    return part[np.argsort(-masked[part], kind="stable")]


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}, k={K}, mask keeps ~50%")
    print("| n | native ms | numpy argsort ms | numpy argpartition ms | vs argsort | vs argpartition |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000, 10_000_000):
        scores = rng.random(n, dtype=np.float32)
        mask = rng.random(n) < 0.5
        native_positions, _ = topk(scores, K, mask)
        assert np.array_equal(native_positions, numpy_sort(scores, mask))
        native = median_ms(lambda: topk(scores, K, mask))
        full = median_ms(lambda: numpy_sort(scores, mask), repeats=5 if n >= 1_000_000 else REPEATS)
        partial = median_ms(lambda: numpy_partition(scores, mask))
        print(f"| {n:,} | {native:.3f} | {full:.3f} | {partial:.3f} | {full / native:.1f}x | {partial / native:.1f}x |")


if __name__ == "__main__":
    main()
