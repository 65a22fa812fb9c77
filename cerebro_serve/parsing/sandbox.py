"""Run document extraction in worker processes with a time and a memory limit.

A malicious or broken file can make a PDF or XML library spin or balloon. Extraction therefore runs in a
separate process whose address space is capped; a file that runs past its time is abandoned, the pool is
torn down (killing the worker) and rebuilt, and the caller gets a clear error. The server never stalls.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from cerebro_serve.parsing.documents import Document, DocumentLimits, extract_document
from cerebro_serve.parsing.documents_errors import DocumentError

log = logging.getLogger(__name__)


def _limit_memory(max_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


class DocumentSandbox:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        workers: int = 2,
        memory_bytes: int = 2 * 1024**3,
        limits: DocumentLimits = DocumentLimits(),
    ) -> None:
        self.workers = workers
        self.timeout_seconds = timeout_seconds
        self.memory_bytes = memory_bytes
        self.limits = limits
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    # spawn: a forked copy of a server with model threads is neither safe nor small.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_limit_memory,
                    initargs=(self.memory_bytes,),
                )
            return self._pool

    def _reset(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def extract(self, data: bytes, filename: str | None, content_type: str | None) -> Document:
        pool = self._executor()
        future = pool.submit(extract_document, data, filename, content_type, self.limits)
        try:
            return future.result(timeout=self.timeout_seconds)
        except FutureTimeout:
            self._reset(pool)
            raise DocumentError("timeout", f"Reading the file took longer than {self.timeout_seconds:g} s.") from None
        except DocumentError:
            raise
        except (BrokenProcessPool, MemoryError, ImportError, OSError):
            # Out of address space: the worker died or could not load what it needed.
            self._reset(pool)
            raise DocumentError("too_complex", "Reading the file exceeded the parser's memory limit.") from None
        except Exception as error:  # noqa: BLE001 - a library choking on a malformed file is the file's problem
            log.warning("document extraction failed: %r", error)
            raise DocumentError("unreadable", f"The file could not be read ({type(error).__name__}).") from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
