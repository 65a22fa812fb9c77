"""The audit trail: every request becomes an event, chained and stored off the request path.

Events are queued in memory and appended in batches by a thread of their own (at most `FLUSH_SECONDS`
behind); closing the workspace writes what is queued, so a clean stop loses none. Personal data in
parameters (emails, names, texts, keywords, comments) and the caller's X-USER-EMAIL are kept only as keyed
hashes: the same value always gives the same digest, so an auditor can still look a person up by hashing
their email with the deployment's key, but the trail itself does not reveal it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from msgspec import structs

from cerebro_serve.services.background import BatchWriter
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import AuditQuery
from cerebro_serve.services.timestamps import optional_timestamp
from cerebro_serve.store.audit import AuditEvent, AuditFilter, AuditStore, StoredEvent, Verification
from cerebro_serve.store.connection import now_us

__all__ = ["AuditEvent", "AuditTrail", "Exchange", "StoredEvent", "Verification"]

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5
PRUNE_EVERY_US = 3600 * 10**6
DAY_US = 86_400 * 10**6
PERSONAL = re.compile(r"email|name|phone|text|keyword|comment|summary|question|address|birth", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class Exchange:
    """A request and its answer as the HTTP layer saw them; made into an event on the trail's thread."""

    at_us: int
    method: str
    path: str
    query: str
    api_key: str | None
    user: str | None
    request_json: bytes  # b"" unless the body was JSON (and not too large)
    status: int
    latency_us: int
    response_json: bytes


class AuditTrail:
    def __init__(self, store: AuditStore, secret: str, retention_days: int) -> None:
        self.store = store
        self._secret = secret.encode()
        self.retention_us = retention_days * DAY_US
        self._pruned_at_us = 0
        self._writer: BatchWriter[Exchange] = BatchWriter("cerebro-audit", FLUSH_SECONDS, self._append, self._prune)

    def key_id(self, key: str | None) -> str | None:
        """Which key called, without the key: a digest short enough to read, long enough not to collide."""
        return hashlib.sha256(key.encode()).hexdigest()[:16] if key else None

    def hashed(self, value: str | None) -> str | None:
        if value is None:
            return None
        return "hmac:" + hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """What a request named, personal values hashed, long structures summarised."""
        kept: dict[str, Any] = {}
        for name, value in values.items():
            if PERSONAL.search(name) and value not in (None, ""):
                kept[name] = self.hashed(value if isinstance(value, str) else repr(value))
            elif isinstance(value, (dict, list)):
                kept[name] = f"<{type(value).__name__} of {len(value)}>"
            elif isinstance(value, str) and len(value) > 256:
                kept[name] = f"<string of {len(value)} characters>"
            else:
                kept[name] = value
        return kept

    def record(self, exchange: Exchange) -> None:
        """On the request path: a list append, nothing more."""
        self._writer.add(exchange)

    def flush(self) -> None:
        self._writer.flush()

    def event(self, exchange: Exchange) -> AuditEvent:
        values: dict[str, Any] = dict(parse_qsl(exchange.query, keep_blank_values=True))
        body = _json(exchange.request_json)
        if isinstance(body, dict):
            values.update(body)
        answer = _answer(exchange.response_json)
        meta = answer.meta or _Meta()
        return AuditEvent(
            at_us=exchange.at_us,
            key_id=self.key_id(exchange.api_key),
            user=self.hashed(exchange.user),
            method=exchange.method,
            route=exchange.path,
            status=exchange.status,
            latency_us=exchange.latency_us,
            parameters=self.parameters(values),
            algorithm_key=meta.algorithm_key,
            algorithm_version=meta.algorithm_version,
            results=_results(answer.data),
        )

    def _event_or_bare(self, exchange: Exchange) -> AuditEvent:
        """An exchange whose contents cannot be read is still recorded, without them."""
        try:
            return self.event(exchange)
        except Exception:
            log.exception("audit: the content of %s %s could not be read", exchange.method, exchange.path)
            return self.event(dataclasses.replace(exchange, query="", request_json=b"", response_json=b""))

    def page(self, query: AuditQuery) -> Page[dict[str, Any]]:
        events, total = self.store.events(_filter(query), (query.page - 1) * query.limit, query.limit)
        return Page([_shown(stored) for stored in events], query.page, query.limit, total)

    def recent(self, limit: int, since_us: int | None = None) -> list[AuditEvent]:
        """The newest events (since `since_us`), newest first: the Studio's activity and traffic chart."""
        events, _ = self.store.events(AuditFilter(from_us=since_us), 0, limit)
        return [stored.event for stored in events]

    def export(self, query: AuditQuery) -> Iterator[dict[str, Any]]:
        return (_shown(stored) for stored in self.store.all_events(_filter(query)))

    def verify(self) -> Verification:
        self.flush()
        return self.store.verify()

    def close(self) -> None:
        self._writer.close()

    def _append(self, exchanges: list[Exchange]) -> None:
        self.store.append([self._event_or_bare(exchange) for exchange in exchanges])

    def _prune(self) -> None:
        """Hourly: remove the events past the retention."""
        now = now_us()
        if now - self._pruned_at_us > PRUNE_EVERY_US:
            self._pruned_at_us = now
            removed = self.store.prune(now - self.retention_us)
            if removed:
                log.info("audit trail: %d events past the retention removed", removed)


def _json(raw: bytes) -> Any:
    """The body as JSON, or None: not JSON, or nested past what the decoder follows (the request was
    refused for it, and is still recorded)."""
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


class _Item(msgspec.Struct):
    key: str | None = None


class _Data(msgspec.Struct):
    """What the trail reads of an answer's `data`; the records themselves are skipped, not decoded."""

    profiles: list[_Item] | None = None
    jobs: list[_Item] | None = None
    predictions: list[list[float]] | None = None
    score: float | None = None
    key: str | None = None


class _Meta(msgspec.Struct):
    algorithm_key: str | None = None
    algorithm_version: int | None = None


class _Answer(msgspec.Struct):
    meta: _Meta | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


_answers = msgspec.json.Decoder(_Answer)
_data = msgspec.json.Decoder(_Data)


def _answer(raw: bytes) -> _Answer:
    try:
        return _answers.decode(raw) if raw else _Answer()
    except (msgspec.DecodeError, RecursionError):
        return _Answer()


def _results(raw: msgspec.Raw) -> list[Any]:
    """[key, score] of what an answer returned: a ranked page's items with their predictions, a grading's
    score, a single record's key."""
    if not bytes(raw).lstrip().startswith(b"{"):
        return []
    try:
        data = _data.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return []
    items = data.profiles if data.profiles is not None else data.jobs
    if items is not None:
        scores = [prediction[1] if len(prediction) == 2 else None for prediction in data.predictions or []]
        return [[item.key, scores[i] if i < len(scores) else None] for i, item in enumerate(items)]
    if data.score is not None:
        return [[data.key, data.score]]
    return [[data.key, None]] if data.key is not None else []


def _filter(query: AuditQuery) -> AuditFilter:
    return AuditFilter(
        from_us=optional_timestamp(query.created_at_min, "created_at_min"),
        to_us=optional_timestamp(query.created_at_max, "created_at_max"),
        key_id=query.key_id,
        route=query.route,
        status=query.status,
    )


def _shown(stored: StoredEvent) -> dict[str, Any]:
    return {"id": stored.id, **structs.asdict(stored.event), "previous_hash": stored.previous_hash, "hash": stored.hash}
