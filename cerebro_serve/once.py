"""Data files loaded once per process, however many threads ask for them first."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def load_once(load: Callable[[], T]) -> Callable[[], T]:
    """`load`'s result, computed by the first caller while the others wait for it (functools.cache alone
    lets concurrent first callers each build their own copy: seconds each for the skills lexicon)."""
    cached = functools.cache(load)
    lock = threading.Lock()

    @functools.wraps(load)
    def loaded() -> T:
        with lock:
            return cached()

    return loaded
