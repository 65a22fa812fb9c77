"""Where a server's Python heap grows during a soak (`bench_load.py soak --tracemalloc`): tracemalloc runs
in the server from its start, a thread dumps a snapshot every `HEAP_SNAPSHOT_SECONDS`, and `report` diffs
the first snapshot after the warm-up with the last, by allocation site. Set against the anonymous memory
the sampler read, it says whether the growth is Python objects (and which) or native allocations."""

from __future__ import annotations

import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 8
HEAP_SNAPSHOT_SECONDS = 60.0


def start(directory: str) -> None:
    """In the server process, before anything is imported: trace every allocation, dump snapshots."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    began = time.monotonic()

    def dump() -> None:
        while True:
            time.sleep(HEAP_SNAPSHOT_SECONDS)
            snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            snapshot.dump(str(folder / f"{time.monotonic() - began:07.0f}.snapshot"))

    threading.Thread(target=dump, name="heap-snapshots", daemon=True).start()


def report(directory: Path, after_seconds: float, top: int = 25) -> dict[str, object]:
    """Growth between the first snapshot taken after `after_seconds` and the last, by traceback."""
    paths = sorted(directory.glob("*.snapshot"))
    chosen = [path for path in paths if float(path.stem) >= after_seconds] or paths
    if len(chosen) < 2:
        return {"snapshots": len(paths), "note": "fewer than two snapshots after the warm-up"}
    first, last = (tracemalloc.Snapshot.load(str(path)) for path in (chosen[0], chosen[-1]))
    minutes = (float(chosen[-1].stem) - float(chosen[0].stem)) / 60
    totals = {path.stem: _traced_mb(tracemalloc.Snapshot.load(str(path))) for path in chosen}
    growth = last.compare_to(first, "traceback")
    return {
        "from_s": float(chosen[0].stem),
        "to_s": float(chosen[-1].stem),
        "traced_mb_by_snapshot": totals,
        "traced_growth_mb_per_min": round((_traced_mb(last) - _traced_mb(first)) / max(minutes, 1e-9), 2),
        "top_growth": [
            {
                "mb": round(stat.size_diff / 2**20, 3),
                "blocks": stat.count_diff,
                "where": [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback][-FRAMES:],
            }
            for stat in growth[:top]
        ],
    }


def _traced_mb(snapshot: tracemalloc.Snapshot) -> float:
    return round(sum(stat.size for stat in snapshot.statistics("filename")) / 2**20, 1)
