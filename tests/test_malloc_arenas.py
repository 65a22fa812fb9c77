"""The serving process's cap on glibc's malloc arenas: threads share the arenas it allows, and an
operator's MALLOC_ARENA_MAX wins. Each case runs in a fresh process (arenas are per process, and a
thread that has allocated keeps its own)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

# 16 threads each hold 64 KiB blocks at the same time, then the process counts its arenas (malloc_info).
COUNT_ARENAS = """
import ctypes, sys, threading
from cerebro_serve.malloc_arenas import cap_arenas
capped = cap_arenas(int(sys.argv[1]))
ready, done = threading.Barrier(17), threading.Event()
def work():
    held = [ctypes.create_string_buffer(65536) for _ in range(4)]
    ready.wait()
    done.wait()
threads = [threading.Thread(target=work) for _ in range(16)]
for thread in threads:
    thread.start()
ready.wait()
libc = ctypes.CDLL(None)
libc.open_memstream.restype = ctypes.c_void_p
libc.open_memstream.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
text, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = libc.open_memstream(ctypes.byref(text), ctypes.byref(size))
libc.malloc_info(0, stream)
libc.fclose(stream)
print(capped, ctypes.string_at(text, size.value).decode().count("<heap nr="))
done.set()
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")


def _arenas(cap: int, **environment: str) -> tuple[str, int]:
    env = {name: value for name, value in os.environ.items() if name != "MALLOC_ARENA_MAX"} | environment
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, str(cap)], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    capped, arenas = done.stdout.split()
    return capped, int(arenas)


@glibc
def test_threads_share_the_arenas_the_cap_allows() -> None:
    assert _arenas(2) == ("True", 2)
    capped, arenas = _arenas(0)  # no cap: glibc's default, an arena per thread here (up to 8 per core)
    assert capped == "False" and arenas > 2


@glibc
def test_the_operators_malloc_arena_max_wins() -> None:
    assert _arenas(2, MALLOC_ARENA_MAX="3") == ("False", 3)
