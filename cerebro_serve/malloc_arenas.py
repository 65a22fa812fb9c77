"""How many malloc arenas a serving process's threads share (glibc).

glibc gives threads arenas of their own, up to eight per core, so that they rarely wait on one lock. Memory
a thread frees stays in its arena, reused only by the threads that share it: a server whose request
threads each touch large temporaries (a thousand candidates' features, a page's JSON) holds every arena's
peak at once, and its resident memory fills for a quarter of an hour or more before it levels off.
Sharing two arenas keeps that fill under half, but the threads then wait on each other's allocations
(the encoder's among them): measured on 2 cores, scoring p99 85 against 59 ms (bench/RESULTS.md,
"Malloc arenas"). So glibc's default stays the default, and the cap is an operator's choice of memory over tail.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # mallopt's parameter number (glibc's malloc.h)


def cap_arenas(count: int) -> bool:
    """Let this process's threads share at most `count` arenas from now on (threads that have allocated
    keep theirs: call it first). False where nothing changed: `count` <= 0, the operator set
    MALLOC_ARENA_MAX (glibc read it at start, and it wins), or a C library without mallopt (musl, macOS)."""
    if count <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, count) == 1
