"""The Workspace: every use case of one Cerebro Serve deployment, behind one object the API calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from cerebro_serve.cluster.pool_shards import PoolShards
from cerebro_serve.engine import Encoder, kernels
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.index import IndexRegistry
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring import calibration_for
from cerebro_serve.scoring.algorithms import matching_algorithm
from cerebro_serve.scoring.features import FeatureExtractor, skill_weights
from cerebro_serve.scoring.wording import LANGUAGES, Wording
from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.anchors import Anchors
from cerebro_serve.services.audit import AuditTrail
from cerebro_serve.services.copilots import CopilotService
from cerebro_serve.services.explanations import ExplanationService
from cerebro_serve.services.fairness import FairnessService
from cerebro_serve.services.feedback import FeedbackService
from cerebro_serve.services.index_sync import IndexSharing, IndexSync
from cerebro_serve.services.keys import KeyRing
from cerebro_serve.services.metrics import Metrics
from cerebro_serve.services.parsing import ParsingService
from cerebro_serve.services.pool_reads import PoolReads
from cerebro_serve.services.pools import PoolService
from cerebro_serve.services.ranking import RankingService
from cerebro_serve.services.record_import import RecordImporter
from cerebro_serve.services.records import RecordService
from cerebro_serve.services.release_gate import GatePolicy, ReleaseGate
from cerebro_serve.services.text import TextService
from cerebro_serve.services.training import TrainingService
from cerebro_serve.services.usage import ScoringRecorder
from cerebro_serve.store import SqlStore, StoredPool

log = logging.getLogger(__name__)

WARM_UP_STOP_SECONDS = 60.0  # a stop waits this long for the pool warm-up is loading (a large one: minutes)
POOLS_PAGE = 500  # pools listed at a time while warm-up loads their indexes


class Workspace:
    def __init__(
        self,
        store: SqlStore,
        encoder: Encoder,
        index_dir: Path | None,
        admin_key: str,
        sandbox: DocumentSandbox,
        *,
        embed_max_chars: int,
        audit_retention_days: int,
        release_gate: GatePolicy,
        training_worker: bool = True,
        index_sharing: IndexSharing | None = None,
        import_workers: int = 0,
        shards: PoolShards | None = None,
    ) -> None:
        """`embed_max_chars`: how much of each view of a record the encoder reads. `audit_retention_days`:
        how long the audit trail keeps events. `release_gate`: when a trained version is held for review.
        `training_worker`: run queued trainings on a thread of this process (False: a separate
        `cerebro-serve worker` runs them). `index_sharing`: keep the pools' indexes in step with writes
        from other processes and publish their files (None: this process is the only writer). `import_workers`:
        processes preparing records ahead of the encoder in a bulk import (0: none). `shards`: where the pools'
        shards rank them by relevance (None: this process's indexes)."""
        self.store = store
        self.encoder = encoder
        self.keys = KeyRing(store, admin_key)
        self.audit = AuditTrail(store.audit, admin_key, audit_retention_days)
        self.pools = PoolService(store)
        device = getattr(encoder, "device", "cpu")
        self.registry = IndexRegistry(
            store,
            index_dir,
            vectors_tag(encoder.name),
            encoder.dimension,
            accelerator=device if device.startswith("cuda") and kernels.available(device) else None,
        )
        self.records = RecordService(
            store, self.pools, encoder, self.registry, FeatureExtractor(), embed_max_chars, holds_pools=shards is None
        )
        self.index_sync = IndexSync(self.registry, index_sharing) if index_sharing is not None else None
        if self.index_sync is not None:
            self.index_sync.start()
        learning = store.learning
        self.algorithms = AlgorithmService(learning, store.stops, encoder.name)
        self.feedback = FeedbackService(learning, self.records)
        self.copilots = CopilotService(store, self.pools, self.algorithms, self.feedback, admin_key)
        anchors = Anchors(store, self.records, self.registry)
        self.reads = PoolReads(self.records, shards)
        self.fairness = FairnessService(store, self.records, self.reads, self.algorithms, anchors)
        gate = ReleaseGate(release_gate, self.fairness.attributes_of)
        self.training = TrainingService(learning, self.algorithms, self.records, gate)
        if training_worker:  # fairness audits run where trainings run
            self.training.worker.start()
            self.fairness.worker.start()
        self.recorder = ScoringRecorder(learning)
        self.metrics = Metrics(store, encoder, self.registry, self.recorder.scores)
        self.explanations = ExplanationService(self.records, anchors, self.algorithms, self.reads)
        self.ranking = RankingService(
            store,
            self.records,
            encoder,
            self.registry,
            calibration_for(encoder.name),
            self.algorithms,
            matching_algorithm(encoder.name),
            self.recorder,
            anchors,
            self.explanations,
            shards,
        )
        self.sandbox = sandbox
        self.parsing = ParsingService(self.records, self.sandbox, default_lexicon)
        self.parsing.queue.resume()
        self.importer = RecordImporter(self.records, self.parsing, import_workers)
        self.text = TextService(encoder, default_lexicon, index_dir)
        self.ready = threading.Event()
        self.warming = "loading the skills lexicon"  # what warm-up is doing now, for /readyz
        self.warm_up_error: str | None = None
        self._stopping = threading.Event()
        self._warm_up_thread = threading.Thread(target=self._warm_up, name="cerebro-warm-up", daemon=True)
        self._warm_up_thread.start()

    def _warm_up(self) -> None:
        """Load, once and before the server says it is ready, what the first requests would otherwise each
        wait for: the skills lexicon (seconds) and the locales' data, the model (its first encode), and
        every pool's index (read from its files, or rebuilt from the store)."""
        try:
            default_lexicon()
            skill_weights()
            for lang in LANGUAGES:  # the locale data explanations format with (Babel reads it lazily)
                Wording(lang).names(["a", "b"])
            self.warming = "loading the model (a first encode)"
            self.encoder.embed_documents(["Cerebro Serve is warming up."])
            self._load_pool_indexes()
        except Exception as error:
            log.exception("warm-up failed")
            self.warm_up_error = f"{type(error).__name__}: {error}"
        else:
            self.ready.set()

    def _load_pool_indexes(self) -> None:
        """Every pool's index, through the record service (which describes again the records the registry
        finds stale); with shards, only those records. A pool that fails is logged and left to its first
        request: one broken pool must not keep the whole server out of traffic."""
        pool_keys = [pool.key for kind in ("source", "board") for pool in self._stored_pools(kind)]
        for loaded, pool_key in enumerate(pool_keys):
            if self._stopping.is_set():  # shutting down: the pools left load on a next start
                return
            self.warming = f"loading the pools' indexes ({loaded} of {len(pool_keys)} loaded)"
            try:
                if self.ranking.shards is None:
                    self.records.pool_index(pool_key)
                else:  # the shards hold the pool: this process only makes its records readable to them
                    self.records.refresh_stale(pool_key)
            except Exception:
                log.exception("warm-up: the index of pool %s did not load; its first request will try again", pool_key)

    def _stored_pools(self, kind: str) -> Iterator[StoredPool]:
        offset = 0
        while True:
            page, total = self.store.pools.list_pools(kind, None, offset, POOLS_PAGE, False)
            yield from page
            offset += len(page)
            if not page or offset >= total:
                return

    def unready(self) -> str | None:
        """Why the server should not take traffic now (None: it may): warm-up still running (saying what it
        waits for) or failed, or the store unreachable (a database restarting, a network partition)."""
        if self.warm_up_error is not None:
            return f"Warm-up failed: {self.warm_up_error}"
        if not self.ready.is_set():
            return f"Warming up: {self.warming}."
        try:
            self.store.ping()
        except Exception as error:  # noqa: BLE001 - whatever the driver raises, the store is not answering
            return f"The store is unreachable: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
        return None

    def stop_background(self) -> None:
        """Stop the work this workspace does on its own threads (warm-up, trainings, fairness audits, queued
        files): each finishes or requeues its job (warm-up the pool it is loading), after which only
        requests use the encoder and the store. Idempotent."""
        self._stopping.set()
        self._warm_up_thread.join(WARM_UP_STOP_SECONDS)
        self.training.worker.stop()
        self.fairness.worker.stop()
        self.parsing.queue.stop()

    def close(self) -> None:
        """Stop the background work, flush the trail and the scoring log, persist the indexes (a fast
        restart), release the store. The encoder (a batcher, in a server) belongs to whoever made it: a
        server drains it before this (cli.serve), so the indexes hold the last writes."""
        self.stop_background()
        self.recorder.close()
        self.audit.close()
        if self.index_sync is not None:
            self.index_sync.stop()
        self.registry.save_all()
        self.registry.close()
        if self.ranking.shards is not None:
            self.ranking.shards.close()
        self.sandbox.close()
        self.store.close()
