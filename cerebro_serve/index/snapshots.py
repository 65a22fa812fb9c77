"""A pool's index files as generations: each a directory written whole, then published by replacing one
small pointer file, and read back memory-mapped so that every process serving the pool shares one copy.

    <pool dir>/CURRENT            names the published generation
    <pool dir>/g<revision>-<id>/  meta.json, vectors.npy, ann.ivf, columns/*.npy

Arrays are plain `.npy` files mapped copy-on-write (`mmap_mode="c"`): the page cache holds them once for
all processes, and a process that then writes a row (a write it applies before the next generation)
copies only the pages it touches. Arrays are written with room to grow, so appends land in the file's
spare rows rather than forcing a private copy of the whole array.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cerebro_serve.record_features import FEATURES_SCHEMA

FORMAT = 2
POINTER = "CURRENT"


@dataclass(frozen=True, slots=True)
class Generation:
    directory: Path
    meta: dict[str, int]

    @property
    def revision(self) -> int:
        return self.meta["revision"]


def headroom(rows: int) -> int:
    """Capacity a file is written with: an eighth more (at least 1,024 rows) for the writes that follow."""
    return rows + max(1024, rows // 8)


def save_array(path: Path, array: np.ndarray, capacity: int | None = None) -> None:
    """Write `array` as an .npy file of `capacity` rows (zeros past its own), synced to disk."""
    capacity = max(len(array), capacity or 0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=(capacity, *array.shape[1:]))
    step = max(1, (64 << 20) // max(1, array[:1].nbytes))  # 64 MiB at a time: no second copy in memory
    for start in range(0, len(array), step):
        end = min(start + step, len(array))
        out[start:end] = array[start:end]
    out.flush()
    del out
    _fsync(path)


def load_array(path: Path) -> np.ndarray:
    """The file's array, mapped copy-on-write (shared until written)."""
    return np.load(path, mmap_mode="c")


def current(pool_dir: Path) -> Generation | None:
    """The published generation, or None (never written, discarded, or from an older format)."""
    try:
        name = (pool_dir / POINTER).read_text().strip()
        directory = pool_dir / name
        meta = json.loads((directory / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("format") != FORMAT or meta.get("features", 0) != FEATURES_SCHEMA:
        return None  # written by another release: its columns hold features of another extraction
    return Generation(directory, {key: int(value) for key, value in meta.items()})


def publish(pool_dir: Path, meta: dict[str, int], write: Callable[[Path], None]) -> Generation:
    """Write a generation with `write(directory)`, then point CURRENT at it; older generations go, but the
    one it replaces (a process may be mapping it this moment; its open mappings outlive the unlink)."""
    pool_dir.mkdir(parents=True, exist_ok=True)
    name = f"g{meta['revision']}-{secrets.token_hex(4)}"
    staging = pool_dir / f".staging-{name}"
    staging.mkdir()
    write(staging)
    meta = {**meta, "format": FORMAT, "features": FEATURES_SCHEMA}
    (staging / "meta.json").write_text(json.dumps(meta))
    _fsync(staging / "meta.json")
    os.replace(staging, pool_dir / name)
    replaced = current(pool_dir)
    pointer = pool_dir / f".{POINTER}.{name}"
    pointer.write_text(name)
    _fsync(pointer)
    os.replace(pointer, pool_dir / POINTER)
    _fsync(pool_dir)
    keep = {name, replaced.directory.name if replaced else None}
    for old in pool_dir.iterdir():
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return Generation(pool_dir / name, meta)


def discard(pool_dir: Path) -> None:
    """Remove every generation (the pointer first: a reader then sees none rather than half of one)."""
    (pool_dir / POINTER).unlink(missing_ok=True)
    shutil.rmtree(pool_dir, ignore_errors=True)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
