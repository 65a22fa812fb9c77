"""Keeps this process's pool indexes in step with the store, when other processes write too (server
workers, `cerebro-serve import`, a training worker), and publishes their files when this process is the
index writer: a thread that wakes every `interval` seconds."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from cerebro_serve.index import IndexRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexSharing:
    """`sync_seconds`: the bound on how late this process sees another's write (plus the time to apply
    it). `snapshot_changes`: revisions after which the writer publishes a pool's files again."""

    sync_seconds: float
    snapshot_changes: int


class IndexSync:
    def __init__(self, registry: IndexRegistry, sharing: IndexSharing) -> None:
        self.registry = registry
        self.interval = sharing.sync_seconds
        self.snapshot_changes = sharing.snapshot_changes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cerebro-index-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def tick(self) -> None:
        """Catch every loaded pool up with the store, then publish those whose files lag too far."""
        for pool_key in self.registry.pools():
            self.registry.catch_up(pool_key)
            if self.registry.snapshot_due(pool_key, self.snapshot_changes):
                self.registry.snapshot(pool_key)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a store restarting, a full disk: the next tick tries again
                log.exception("index sync failed")
