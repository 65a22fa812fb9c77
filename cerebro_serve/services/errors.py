"""Errors a use case can end in. Each carries the HTTP-agnostic status the API layer answers with; the
encoder's overload (QueueFull) and its refusal while the server shuts down (BatcherClosed), raised below
the services, are named here too, so the API layer needs nothing beneath this one."""

from __future__ import annotations

from collections.abc import Callable

from cerebro_serve.cluster.pool_shards import ShardAnswers, ShardUnavailable
from cerebro_serve.engine.batcher import BatcherClosed, QueueFull

__all__ = [
    "BatcherClosed",
    "Conflict",
    "Forbidden",
    "InvalidParameters",
    "Missing",
    "NotFound",
    "QueueFull",
    "ServiceError",
    "Unauthorized",
    "Unavailable",
    "from_shards",
]


class ServiceError(Exception):
    status = 400
    prefix = "Invalid parameters. "

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def message(self) -> str:
        return self.prefix + self.detail


class InvalidParameters(ServiceError):
    @classmethod
    def from_validation(cls, error: Exception) -> InvalidParameters:
        """msgspec says `$.info.email`; HrFlow users know field names, so say `info.email`."""
        return cls(str(error).replace("`$.", "`").replace(" - at `$`", ""))


class NotFound(ServiceError):
    """HrFlow answers 400 here, and clients match on "Unable to find object: <kind>"."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"Unable to find object: {kind}")


class Missing(ServiceError):
    """A plain 404, for routes HrFlow does not have (its clients' "not found" is NotFound's 400)."""

    status = 404
    prefix = "Not Found. "


class Conflict(ServiceError):
    status = 409
    prefix = "Conflict. "


class Unauthorized(ServiceError):
    status = 401
    prefix = "Unauthorized. "


class Forbidden(ServiceError):
    status = 403
    prefix = "Forbidden. "


class Unavailable(ServiceError):
    """A part the answer needs is away for now (a pool's shard in a cluster): send the request again."""

    status = 503
    prefix = "Service Unavailable. "


def from_shards(ask: Callable[[], ShardAnswers]) -> ShardAnswers:
    """The shards' answers; a shard none of whose replicas answers is a 503 naming it."""
    try:
        return ask()
    except ShardUnavailable as error:
        raise Unavailable(
            f"{error}; no partial ranking is answered (unless `allow_partial`), send the request again"
        ) from None
