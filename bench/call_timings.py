"""API calls timed in the same run, and their table against the first kind (the baseline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

WARM_UP_CALLS = 3  # each kind's first calls are not counted


def timed_call(call: Callable[[], Any], timings: list[float], number: int) -> Any:
    """`call()`'s answer, which must be a 200; its milliseconds go to `timings` past the warm-up."""
    started = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    if number >= WARM_UP_CALLS:
        timings.append(elapsed * 1000)
    return answer


def print_table(first_column: str, timings: dict[str, list[float]]) -> None:
    """Median and p90 per kind, and each median against the first kind's."""
    baseline_name = next(iter(timings))
    print(f"| {first_column} | median ms | p90 ms | median vs {baseline_name} |")
    print("|---|---|---|---|")
    baseline = np.median(timings[baseline_name])
    for name, values in timings.items():
        median, p90 = np.median(values), np.percentile(values, 90)
        print(f"| {name} | {median:.1f} | {p90:.1f} | {median / baseline:.2f}x |")
