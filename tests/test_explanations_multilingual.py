"""Explanations on the multilingual encoder (USE v3): another vector space, 512 dimensions."""

from __future__ import annotations

import pytest
from helpers import make_batcher
from test_explanations import JOB, _check_adds_up, _profile, _query, _scored

from cerebro_serve.engine.loading import load_encoder
from cerebro_serve.engine.models import MULTILINGUAL_MODEL


@pytest.fixture(scope="module")
def batcher():
    """This module's workspaces embed with USE instead of the session's MiniLM."""
    batcher = make_batcher(load_encoder(MULTILINGUAL_MODEL, "cpu", "float32", "torch"))
    yield batcher
    batcher.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_explanations_hold_on_the_multilingual_encoder(client) -> None:
    assert client.app.state.workspace.encoder.dimension == 512  # USE, not the session's MiniLM
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    assert client.post("/v1/job/indexing", json={**JOB, "board_key": board}).status_code == 201
    assert client.post("/v1/profile/indexing", json=_profile(source, "camille")).status_code == 201
    upskilling = client.get("/v1/profile/upskilling", params=_query(source, board)).json()["data"]
    _, (_, score, _) = _scored(client, "profile", source, board, "cerebro-base")
    assert abs(upskilling["score"] - score) < 1e-6
    _check_adds_up(upskilling)
    top = upskilling["suggestions"][0]
    profile = client.get("/v1/profile/indexing", params={"source_key": source, "reference": "camille"}).json()["data"]
    edited = {"source_key": source, "key": profile["key"], "skills": [*profile["skills"], top["skill"]]}
    assert client.put("/v1/profile/indexing", json=edited).status_code == 200
    after = client.get("/v1/profile/grading", params=_query(source, board)).json()["data"]["explanation"]
    assert abs(after["logit"] - upskilling["logit"] - top["gain"]) < 1e-6
