"""Paging as HrFlow reports it: 1-based pages and `meta{page, maxPage, count, total}`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    limit: int
    total: int
    predictions: Sequence[Sequence[float] | None] | None = None  # None for an item listed for manual review
    extra_meta: dict[str, Any] | None = None  # e.g. which algorithm version answered a scoring call
    explanations: list[Any] | None = None  # one per item, when a scoring call asked for them
    manual_review: list[bool] | None = None  # per item, with `include_manual`: listed for a person to review

    @property
    def meta(self) -> dict[str, Any]:
        # An empty result still reports one (empty) page: SDK helpers divide by maxPage.
        return {
            "page": self.page,
            "maxPage": max(1, math.ceil(self.total / self.limit)),
            "count": len(self.items),
            "total": self.total,
            **(self.extra_meta or {}),
        }
