"""What a partner app's copilot token (`Authorization: Bearer cpt_...`) may do: the routes a copilot's
pages use (each route lists the copilot types it is open to in its `opt`), on the copilot's own pools,
with the copilot's algorithm. The key guard admits the token; the routes it opens pass what they decoded
through `scoped`, so query strings, JSON bodies and forms are checked by the same code."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request

from cerebro_serve.services.copilots import Copilot, CopilotType
from cerebro_serve.services.errors import Forbidden

T = TypeVar("T")
COPILOT_TYPES = "copilot_types"  # `opt`: the copilot types whose tokens a route admits
COPILOT = "copilot"  # request state: the copilot a partner token acts for
# Each field that names pools, and the copilot's setting those pools must come from.
POOL_FIELDS = {
    "source_key": "source_keys",
    "source_keys": "source_keys",
    "board_key": "board_keys",
    "board_keys": "board_keys",
}


def open_to(opt: dict[str, Any], *types: CopilotType) -> dict[str, Any]:
    """A route's `opt` that also admits the tokens of these copilot types."""
    return {**opt, COPILOT_TYPES: types}


def scoped(request: Request, payload: T) -> T:
    """The decoded parameters of a call, held to the copilot a partner token acts for (unchanged for a
    key): every pool named must be the copilot's (403 otherwise), and the copilot's algorithm scores."""
    copilot: Copilot | None = request.state.get(COPILOT)
    if copilot is None:
        return payload
    for name, setting in POOL_FIELDS.items():
        named = getattr(payload, name, None)
        if named is None:
            continue
        allowed = getattr(copilot.settings, setting)
        outside = [key for key in (named if isinstance(named, list) else [named]) if key not in allowed]
        if outside:
            raise Forbidden(f"`{name}` {outside[0]} is not one of this copilot's pools")
    fields = getattr(payload, "__struct_fields__", ())
    algorithm: dict[str, str | None] = {name: None for name in ("agent_key",) if name in fields}
    if "algorithm_key" in fields:
        algorithm["algorithm_key"] = copilot.settings.algorithm_key
    return msgspec.structs.replace(payload, **algorithm) if algorithm else payload  # type: ignore[type-var]
