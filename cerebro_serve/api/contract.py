"""What a route takes and answers, declared beside it (`opt=reads(...)` / `opt=writes(...)`).

The route decodes its parameters with the Structs named here, and `api/openapi.py` builds the OpenAPI
document from the same declarations: the document cannot describe parameters the route does not read.
The permission travels in the same `opt` for the key guard (`api/auth.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CONTRACT = "contract"
Permission = Literal["read", "write"]


@dataclass(frozen=True, kw_only=True)
class Contract:
    """A route's inputs and answers.

    `query`/`body`/`form` are msgspec Structs (or, for a body, any type msgspec can describe);
    `any_of` holds groups of fields, at least one of each to be given (HrFlow's "key or reference"), in the
    query or the body;
    `answers` maps each success status to the type of the envelope's `data` (None: no `data`);
    `errors` lists the error statuses this route gives beyond the ones every `/v1` route can.
    """

    query: Any = None
    body: Any = None
    body_media: str = "application/json"
    body_any_of: tuple[tuple[str, ...], ...] = ()  # body fields: at least one field of each group
    body_one_of: tuple[tuple[str, ...], ...] = ()  # body fields: exactly one of these groups
    body_rules: tuple[dict[str, Any], ...] = ()  # further JSON Schema the body meets (rules between fields)
    form: Any = None
    any_of: tuple[tuple[str, ...], ...] = ()
    answers: dict[int, Any] = field(default_factory=lambda: {200: None})
    paged: bool = False
    errors: tuple[int, ...] = ()
    encodes: bool = False  # runs the encoder, so it can be refused with 429 when the queue is full
    example: dict[str, Any] | None = None  # a request body the documentation shows
    exports_lines: bool = False  # may answer JSON lines (`format=jsonl`) instead of the envelope
    exports_html: bool = False  # may answer an HTML page (`format=html`) instead of the envelope

    def __deepcopy__(self, memo: dict[int, Any]) -> Contract:
        """Litestar copies each route's `opt`; a contract never changes, and its Annotated types cannot be
        copied (msgspec.Meta does not pickle)."""
        return self


def reads(**declared: Any) -> dict[str, Any]:
    """`opt` of a route any read key may call."""
    return {"permission": "read", CONTRACT: Contract(**declared)}


def writes(**declared: Any) -> dict[str, Any]:
    """`opt` of a route any write key may call."""
    return {"permission": "write", CONTRACT: Contract(**declared)}


def admin(**declared: Any) -> dict[str, Any]:
    """`opt` of a route only admin keys (`ask_`) may call."""
    return {"permission": "all", CONTRACT: Contract(**declared)}


def public(**declared: Any) -> dict[str, Any]:
    """`opt` of a route outside `/v1`, answered without a key (the probes)."""
    return {CONTRACT: Contract(**declared)}
