"""Which encoder a workspace runs when none is named: a new one the default (multilingual-e5-small), one
with records the model they were embedded with, so that a release changing the default leaves data dirs on
their model; a workspace embedded by a local model directory must name it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.engine.models import DEFAULT_MODEL
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.services.workspace_model import workspace_model
from cerebro_serve.store.schema import records


def _tag_every_record(store, tag: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.update(records).values(model=tag))


def test_a_new_workspace_runs_the_default(store) -> None:
    assert workspace_model(None, store) == DEFAULT_MODEL == E5_MODEL
    assert workspace_model("all-MiniLM-L6-v2", store) == "all-MiniLM-L6-v2"


def test_a_workspace_with_records_keeps_their_model(client, workspace, pools) -> None:
    source, _ = pools
    body = {"source_key": source, "text": "Registered nurse on a surgical ward.", "info": {"full_name": "A"}}
    assert client.post("/v1/profile/indexing", json=body).status_code == 201
    assert workspace_model(None, workspace.store) == workspace.encoder.name == "all-MiniLM-L6-v2"
    assert workspace_model("use-multilingual-v3", workspace.store) == "use-multilingual-v3"  # named: it wins
    _tag_every_record(workspace.store, vectors_tag(E5_MODEL))
    assert workspace_model(None, workspace.store) == E5_MODEL
    _tag_every_record(workspace.store, "all-MiniLM-L6-v2")  # how releases before 2026-12 tagged vectors
    assert workspace_model(None, workspace.store) == "all-MiniLM-L6-v2"


def test_a_workspace_of_a_local_model_must_name_it(client, workspace, pools) -> None:
    source, _ = pools
    body = {"source_key": source, "text": "Backend developer: Python and PostgreSQL.", "info": {"full_name": "B"}}
    assert client.post("/v1/profile/indexing", json=body).status_code == 201
    _tag_every_record(workspace.store, vectors_tag("tuned-on-our-hires"))
    with pytest.raises(ValueError, match="CEREBRO_MODEL"):
        workspace_model(None, workspace.store)
    assert workspace_model("/models/tuned-on-our-hires", workspace.store) == "/models/tuned-on-our-hires"
