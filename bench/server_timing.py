"""Reading the server's `Server-Timing` header (api/server_timing.py) back in benchmarks: where the time
of a set of requests went, stage by stage, and what set the slowest of them apart."""

from __future__ import annotations

import numpy as np


def stages(requests: list[tuple[float, str]]) -> dict[str, dict[str, float]] | None:
    """Where requests' time went, from (client latency in ms, Server-Timing header) pairs: each stage's
    p50 and p99, and its mean over the slowest 1% of requests (by the client's latency) against the mean
    over all; `outside` is the client's latency less the server's total (sockets, the event loop before
    the app, the client itself). None when no answer carried the header."""
    timed = [(ms, _timing(header)) for ms, header in requests]
    timed = [(ms, found) for ms, found in timed if "total" in found]
    if not timed:
        return None
    for ms, found in timed:
        found["outside"] = max(0.0, ms - found["total"])
    cut = np.percentile([ms for ms, _ in timed], 99)
    slowest = [found for ms, found in timed if ms >= cut]
    names = sorted({name for _, found in timed for name in found})
    summary = {}
    for name in names:
        values = np.array([found.get(name, 0.0) for _, found in timed])
        summary[name] = {
            "p50": round(float(np.percentile(values, 50)), 2),
            "p99": round(float(np.percentile(values, 99)), 2),
            "mean": round(float(values.mean()), 2),
            "mean_slowest_1pct": round(float(np.mean([found.get(name, 0.0) for found in slowest])), 2),
        }
    return summary


def _timing(header: str) -> dict[str, float]:
    found = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name and duration:
            found[name] = float(duration)
    return found
