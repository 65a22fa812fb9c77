"""One huge record costs the encoder no more than its head per view (`PROFILE_HEAD_TOKENS`, from at most
`embed_max_chars` characters); keyword search and the features still read all of it, and the write says
which views were longer than the cap."""

from __future__ import annotations

import json

import numpy as np
from helpers import PYTHON_RESUME, head_of, profile

from cerebro_serve.engine.views import PROFILE_HEAD_TOKENS
from cerebro_serve.services import Workspace


def test_a_huge_profile_is_embedded_within_the_cap(client, workspace: Workspace, pools) -> None:
    cap = workspace.records.embed_max_chars
    source, _ = pools
    filler = "Warehouse operative: picking, packing, forklift, inventory counts. " * 3000
    text = PYTHON_RESUME + "\n" + filler + "\nHobbies: xylophonist in a brass band."
    assert len(text) > 10 * cap

    response = client.post("/v1/profile/indexing", json=profile(text, source_key=source))
    assert response.status_code == 201
    assert response.json()["meta"] == {"embedding": {"max_chars": cap, "views_cut": {"full": len(text.strip())}}}
    key = response.json()["data"]["key"]

    # The stored full-text vector is the embedding of the text's head: its first tokens, ending on a word.
    stored = workspace.store.records.find_record("profile", source, key=key)
    assert stored is not None
    _, raw, _ = workspace.store.records.record_vectors(stored.id)
    full = np.frombuffer(raw, dtype=np.float32)[: workspace.encoder.dimension]
    head = head_of(workspace.encoder, text, PROFILE_HEAD_TOKENS)
    assert text.startswith(head) and len(head) < cap and text[len(head)] in " \n"
    assert float(full @ workspace.encoder.embed_documents([head])[0]) > 0.999
    assert float(full @ workspace.encoder.embed_documents([text[: text.rfind(" ", 0, cap)]])[0]) < 0.99

    # Keyword search still reads the whole text: a word only in the tail finds it.
    searched = client.get(
        "/v1/profiles/searching",
        params={"source_keys": json.dumps([source]), "text_keywords": json.dumps(["xylophonist"])},
    )
    assert [found["key"] for found in searched.json()["data"]["profiles"]] == [key]


def test_a_record_within_the_cap_has_no_embedding_meta(client, pools) -> None:
    source, _ = pools
    response = client.post("/v1/profile/indexing", json=profile(PYTHON_RESUME, source_key=source))
    assert response.status_code == 201 and "meta" not in response.json()
