"""A workspace's Prometheus metrics, in a registry of its own (never the process-wide default: a test
process makes many workspaces, and a library's global registry would mix them).

Two kinds: what happens on a request path is counted as it happens (HTTP requests by route template,
the batcher's forward passes through its observer hook), in prometheus-client's own metrics; what
already has a count somewhere (the queue's depth, texts embedded, index sizes and IVF builds, jobs by
status in the store, score distributions per algorithm version) is read when Prometheus scrapes, by a
collector, so the request path pays nothing for it. Labels are route templates, methods, statuses,
pool and algorithm keys, versions and job states: nothing about a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from cerebro_serve.engine import Encoder
from cerebro_serve.engine.batcher import BatchRun, DynamicBatcher
from cerebro_serve.index import IndexRegistry
from cerebro_serve.services.score_drift import SCORE_BUCKETS, ScoreDistributions
from cerebro_serve.store import SqlStore

UNMATCHED = "unmatched"  # the route label of a request no route answered (bounded, unlike raw paths)
BATCH_PIECES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
BATCH_TOKENS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
QUEUE_WAITS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Every state each job table's rows can be in, reported at 0 too, so a state that empties stays a series.
JOB_STATES = {
    "trainings": ("queued", "running", "succeeded", "failed", "cancelled", "held_for_review"),
    "parsing_jobs": ("queued", "running", "succeeded", "failed"),
    "fairness_audits": ("queued", "running", "succeeded", "failed", "cancelled"),
}


class Metrics:
    def __init__(self, store: SqlStore, encoder: Encoder, indexes: IndexRegistry, scores: ScoreDistributions) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cerebro_http_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "cerebro_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ("route", "method"),
            registry=self.registry,
        )
        self.batch_pieces = Histogram(
            "cerebro_batch_size_pieces",
            "Pieces (text chunks) in each forward pass",
            buckets=BATCH_PIECES,
            registry=self.registry,
        )
        self.batch_tokens = Histogram(
            "cerebro_batch_size_tokens", "Tokens in each forward pass", buckets=BATCH_TOKENS, registry=self.registry
        )
        self.batch_seconds = Histogram(
            "cerebro_batch_duration_seconds", "Time of each forward pass", registry=self.registry
        )
        self.queue_wait = Histogram(
            "cerebro_batch_queue_wait_seconds",
            "Time an embedding request waited for the first batch to take one of its pieces",
            buckets=QUEUE_WAITS,
            registry=self.registry,
        )
        batcher = encoder if isinstance(encoder, DynamicBatcher) else None
        if batcher is not None:
            batcher.observe(self)
        self.registry.register(_Scraped(store, batcher, indexes, scores))

    def request(self, route: str | None, method: str, status: int, seconds: float) -> None:
        """One HTTP exchange: `route` is the template that answered it (None: no route did)."""
        route = route or UNMATCHED
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def batch_ran(self, run: BatchRun) -> None:
        self.batch_pieces.observe(run.pieces)
        self.batch_tokens.observe(run.tokens)
        self.batch_seconds.observe(run.seconds)
        for wait in run.queue_waits:
            self.queue_wait.observe(wait)

    def watch_admission(self, read: Callable[[], tuple[int, int, int]]) -> None:
        """Report the API's admission line (api/admission.py) at each scrape: `read` gives the requests at
        work, those waiting, and those refused so far."""
        self.registry.register(_AdmissionLine(read))

    def exposition(self) -> bytes:
        """Prometheus's text format."""
        return generate_latest(self.registry)


class _AdmissionLine(Collector):
    def __init__(self, read: Callable[[], tuple[int, int, int]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        active, waiting, refused = self.read()
        yield GaugeMetricFamily("cerebro_api_active_requests", "API requests at work in this process", value=active)
        yield GaugeMetricFamily(
            "cerebro_api_waiting_requests", "API requests waiting in line for one to finish", value=waiting
        )
        yield CounterMetricFamily(
            "cerebro_api_refused", "API requests refused with 429 (the line was full or too slow)", value=refused
        )


class _Scraped(Collector):
    """What is read at scrape time."""

    def __init__(
        self, store: SqlStore, batcher: DynamicBatcher | None, indexes: IndexRegistry, scores: ScoreDistributions
    ) -> None:
        self.store = store
        self.batcher = batcher
        self.indexes = indexes
        self.scores = scores

    def collect(self) -> Iterator[Metric]:
        if self.batcher is not None:
            yield from self._batcher(self.batcher)
        yield from self._indexes()
        yield from self._jobs()
        yield from self._scores()

    def _batcher(self, batcher: DynamicBatcher) -> Iterator[Metric]:
        stats = batcher.stats
        yield GaugeMetricFamily(
            "cerebro_batcher_queue_depth", "Embedding requests waiting for the encoder", value=batcher.queue_depth
        )
        yield CounterMetricFamily(
            "cerebro_encoder_texts", "Texts embedded (rate() gives texts per second)", value=stats.texts
        )
        yield CounterMetricFamily(
            "cerebro_batcher_rejected", "Embedding requests refused with 429 (queue full)", value=stats.rejected
        )
        yield GaugeMetricFamily(
            "cerebro_encoder_tokens_per_second",
            "The encoder's measured speed, smoothed over batches (what admission control uses)",
            value=stats.tokens_per_second or 0.0,
        )

    def _indexes(self) -> Iterator[Metric]:
        vectors = GaugeMetricFamily("cerebro_index_vectors", "Vectors in a loaded pool's index", labels=("pool",))
        builds = CounterMetricFamily(
            "cerebro_index_ivf_builds", "IVF indexes built for a pool since its index was loaded", labels=("pool",)
        )
        for pool in self.indexes.stats():
            vectors.add_metric((pool.pool_key,), pool.vectors)
            builds.add_metric((pool.pool_key,), pool.ann_builds)
        yield vectors
        yield builds

    def _jobs(self) -> Iterator[Metric]:
        for table, counts in self.store.job_counts.by_status().items():
            family = GaugeMetricFamily(f"cerebro_{table}", f"Rows of {table} by state", labels=("state",))
            for state in dict.fromkeys((*JOB_STATES.get(table, ()), *counts)):
                family.add_metric((state,), counts.get(state, 0))
            yield family

    def _scores(self) -> Iterator[Metric]:
        labels = ("algorithm", "version")
        calls = CounterMetricFamily(
            "cerebro_scoring_calls", "Scoring calls answered, by algorithm version", labels=labels
        )
        histogram = HistogramMetricFamily(
            "cerebro_scores", "Scores returned by scoring calls, by algorithm version", labels=labels
        )
        drift = GaugeMetricFamily(
            "cerebro_score_drift_psi",
            "Population stability index of a version's recent scores against its first ones in this process",
            labels=labels,
        )
        for version in self.scores.snapshot():
            values = (version.algorithm_key, str(version.version))
            calls.add_metric(values, version.calls)
            buckets = [(str(bound), count) for bound, count in zip(SCORE_BUCKETS, version.bucket_counts)]
            histogram.add_metric(values, [*buckets, ("+Inf", version.count)], version.total)
            if version.psi is not None:
                drift.add_metric(values, version.psi)
        yield calls
        yield histogram
        yield drift
