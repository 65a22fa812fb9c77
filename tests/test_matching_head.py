"""A profile matched against (profiles/matching) is read to its first MATCHING_HEAD_TOKENS whatever its model
stores. multilingual-e5-small stores 256-token profile heads; here the test encoder is told to store 256
the same way, so that the anchor's matching vectors are its 128-token heads while scoring jobs for it keeps
the stored ones, and an edit is never answered from a kept head."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import head_of, profile

from cerebro_serve.engine import views
from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.objects import PROFILE
from cerebro_serve.scoring.algorithms import base_algorithm, matching_algorithm

CARE = " ".join(
    f"Ward {n}: registered nurse, patient assessment, wound dressing, medication rounds, triage." for n in range(9)
)
CODE = " ".join(
    f"Project {n}: backend developer, Python services, Kubernetes clusters, PostgreSQL tuning." for n in range(12)
)


@pytest.fixture
def long_heads(monkeypatch, encoder) -> None:
    """The test encoder stores profile heads of 256 tokens, as e5 does."""
    monkeypatch.setitem(views.PROFILE_HEAD_TOKENS_OF, encoder.name, 256)


def _unit(text: str, encoder, tokens: int) -> np.ndarray:
    return encoder.embed_documents([head_of(encoder, text, tokens)])[0]


def test_only_models_storing_longer_heads_read_the_anchor_again() -> None:
    assert views.reads_matching_anchor_again(E5_MODEL)
    assert not views.reads_matching_anchor_again("all-MiniLM-L6-v2")


def test_a_matched_profile_is_read_to_its_matching_head(long_heads, client, workspace, pools, encoder) -> None:
    source, _ = pools
    text = f"{CARE} {CODE}"
    key = client.post("/v1/profile/indexing", json=profile(text, source_key=source)).json()["data"]["key"]
    client.post("/v1/profile/indexing", json=profile(CARE, source_key=source, reference="nurse"))
    anchors = workspace.ranking.anchors
    matched = anchors.stored(PROFILE, source, key, None, matching_algorithm(), matching=True)
    scored = anchors.stored(PROFILE, source, key, None, base_algorithm())
    short, long = _unit(text, encoder, views.MATCHING_HEAD_TOKENS), _unit(text, encoder, 256)
    assert float(short @ long) < 0.99  # the two heads read different things
    assert float(matched.views[0] @ short) > 0.999 and float(scored.views[0] @ long) > 0.999
    assert np.array_equal(matched.vector, matched.views[0])
    params = {"source_key": source, "profile_key": key, "sort_by": "scoring"}
    answer = client.get("/v1/profiles/matching", params=params)
    assert answer.status_code == 200 and [p["reference"] for p in answer.json()["data"]["profiles"]] == ["nurse"]


def test_a_kept_matching_head_is_not_served_after_an_edit(long_heads, client, workspace, pools, encoder) -> None:
    source, _ = pools
    key = client.post("/v1/profile/indexing", json=profile(f"{CARE} {CODE}", source_key=source)).json()["data"]["key"]
    anchors = workspace.ranking.anchors
    first = anchors.stored(PROFILE, source, key, None, matching_algorithm(), matching=True).views
    assert anchors.stored(PROFILE, source, key, None, matching_algorithm(), matching=True).views is first  # kept
    edited = f"{CODE} {CARE}"
    assert (
        client.put("/v1/profile/indexing", json={"source_key": source, "key": key, "text": edited}).status_code == 200
    )
    after = anchors.stored(PROFILE, source, key, None, matching_algorithm(), matching=True).views
    assert float(after[0] @ _unit(edited, encoder, views.MATCHING_HEAD_TOKENS)) > 0.999
    assert float(after[0] @ first[0]) < 0.99
