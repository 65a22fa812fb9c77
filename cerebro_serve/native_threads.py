"""How many threads the native libraries behind one request (FAISS's OpenMP, numpy's BLAS) may use.

A scoring request's native calls are small: spread over every core, each call's helper threads spin
while they wait for one another, burning the cores other requests would use (measured on 2 cores:
one request stream used 1.8 cores for what one core does in the same time). So a serving process runs
them on one thread per request and serves requests side by side instead; the encoder (PyTorch) and
index builds, which have large calls, ask for every core where they run (`all_cores`).
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_request_threads(count: int) -> None:
    """`count` threads per call from now on: through the environment for libraries not loaded yet (and
    the worker processes this one starts), and through threadpoolctl for those already loaded (numpy's
    BLAS, whose pool is process-wide)."""
    for name in ENVIRONMENT:
        os.environ[name] = str(count)
    threadpool_limits(count)


def all_cores() -> int:
    return os.cpu_count() or 1
