"""How many malloc arenas a serving process's threads share (glibc).

glibc gives threads arenas of their own, up to eight per core, so that they rarely wait on one lock. Memory
a thread frees stays in its arena, reused only by the threads that share it: a server whose request
threads each touch large temporaries (a thousand candidates' features, a page's JSON) holds every arena's
peak at once, and its resident memory climbs for the better part of an hour before it levels off
(bench/RESULTS.md, the soaks). Sharing two arenas keeps that fill to a fraction at a lock that, with
requests on one native thread each, is seldom contended.
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
