"""Which encoder a workspace runs: the one named (`CEREBRO_MODEL`); unnamed, the one its records were
embedded with; on a store with no record yet, the default (engine/models.py `DEFAULT_MODEL`).

A data dir keeps its model when a release changes the default: another model would embed every pool again
at start, and the versions trained on the old model's similarities would score the new one's wrongly."""

from __future__ import annotations

from cerebro_serve.engine.models import DEFAULT_MODEL, KNOWN_MODELS
from cerebro_serve.engine.views import tagged_model
from cerebro_serve.store import SqlStore


def workspace_model(named: str | None, store: SqlStore) -> str:
    """The model to load. A workspace embedded by a local model directory must name it: its records keep
    the directory's name only."""
    if named:
        return named
    tag = store.records.latest_vectors_tag()
    if tag is None:
        return DEFAULT_MODEL
    model = tagged_model(tag)
    if model not in KNOWN_MODELS:
        raise ValueError(
            f"this workspace's records were embedded by the local model {model!r}: set CEREBRO_MODEL to its directory"
        )
    return model
