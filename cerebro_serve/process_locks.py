"""Which process, of several on one data dir, does a job only one may do (publish the index files, run
the trainings): the one holding an exclusive lock on a file. The kernel releases it when the process
ends, however it ends, so another process can take the job over."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """The descriptor holding an exclusive lock on `path` (closing it releases the lock), or None when
    another process holds it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor
