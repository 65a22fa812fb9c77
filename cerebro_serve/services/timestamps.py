"""ISO-8601 at the edges, integer microseconds since the epoch (UTC) inside the store."""

from __future__ import annotations

from datetime import UTC, datetime

from cerebro_serve.services.errors import InvalidParameters


def parse_timestamp(value: str, field: str) -> int:
    """Parse an ISO date or date-time; a value without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidParameters(f"`{field}` must be an ISO-8601 date or date-time, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def format_timestamp(microseconds: int | None) -> str | None:
    if microseconds is None:
        return None
    moment = datetime.fromtimestamp(microseconds / 1_000_000, tz=UTC)
    return moment.isoformat(timespec="seconds")  # "+00:00", and four-digit years before 1000 too


def optional_timestamp(value: str | None, field: str) -> int | None:
    return parse_timestamp(value, field) if value else None
