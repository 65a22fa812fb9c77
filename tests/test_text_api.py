"""The Text API over HTTP, and word linking on a small real vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ENGLISH_RESUME

from cerebro_serve.parsing.taxonomy import Lexicon
from cerebro_serve.services.text import TextService


def test_text_parsing_gives_entities_with_offsets_and_groups(client) -> None:
    response = client.post("/v1/text/parsing", json={"text": ENGLISH_RESUME})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["text"] == ENGLISH_RESUME
    for entity in data["entities"]:
        assert 0 <= entity["start"] < entity["end"] <= len(ENGLISH_RESUME)
    labels = {ENGLISH_RESUME[e["start"] : e["end"]]: e["label"] for e in data["entities"]}
    assert labels["Django"] == "skill_hard" and labels["jane.roe@example.com"] == "email"
    assert labels["Northwind Software"] == "company"
    groups = data["parsing"]
    assert "PostgreSQL" in groups["skills_hard"] and groups["first_names"] == ["Jane"]
    assert "University of Leeds" in groups["schools"] and groups["languages"] == ["en", "fr"]
    many = client.post("/v1/text/parsing", json={"texts": ["Python developer", "Registered nurse"]})
    assert [item["text"] for item in many.json()["data"]] == ["Python developer", "Registered nurse"]


def test_text_parsing_needs_exactly_one_input(client) -> None:
    for body in ({}, {"text": "a", "texts": ["b"]}):
        response = client.post("/v1/text/parsing", json=body)
        assert response.status_code == 400 and "exactly one" in response.json()["message"]


def test_tagging_ranks_skills_by_mentions(client) -> None:
    text = "Python and Django. More Python. Some Docker."
    response = client.post(
        "/v1/text/tagging",
        json={
            "algorithm_key": "tagger-hrflow-skills",
            "text": text,
            "top_n": 2,
            "output_lang": "en",
            "context": None,
            "labels": None,
        },
    )
    data = response.json()["data"]
    assert response.status_code == 200 and data["tags"][0].startswith("Python") and len(data["tags"]) == 2
    assert data["predictions"][0] == pytest.approx(0.5) and data["ids"][0]
    occupations = client.post(
        "/v1/text/tagging", json={"algorithm_key": "tagger-rome-jobtitle", "text": "Registered nurse, ICU"}
    ).json()["data"]
    assert occupations["tags"]
    bad = client.post("/v1/text/tagging", json={"algorithm_key": "tagger-unknown", "text": "x"})
    assert bad.status_code == 400 and "unknown tagger" in bad.json()["message"]
    french = client.post(
        "/v1/text/tagging",
        json={
            "algorithm_key": "tagger-hrflow-skills",
            "text": "Project management and project management.",
            "output_lang": "fr",
        },
    )
    assert french.json()["data"]["tags"] == ["gestion de projets"]
    german = client.post(
        "/v1/text/tagging", json={"algorithm_key": "tagger-hrflow-skills", "text": "x", "output_lang": "de"}
    )
    assert german.status_code == 400 and "output_lang" in german.json()["message"]


def test_embedding_is_the_encoder_vector(client, encoder) -> None:
    response = client.post("/v1/text/embedding", json={"text": "Python developer"})
    [item] = response.json()["data"]
    assert len(item["embedding"]) == encoder.dimension
    np.testing.assert_allclose(item["embedding"], encoder.embed_documents(["Python developer"])[0], atol=1e-5)
    null = client.post("/v1/text/embedding", json={"text": None})
    assert null.status_code == 400 and "null" in null.json()["message"]


def test_linking_validates_top_n(client) -> None:
    assert client.post("/v1/text/linking", json={"word": "python", "top_n": 0}).json()["data"] == []
    negative = client.post("/v1/text/linking", json={"word": "python", "top_n": -1})
    assert negative.status_code == 400 and "top_n" in negative.json()["message"]


def test_linking_finds_the_nearest_skills(encoder, tmp_path) -> None:
    rows = [
        (name.lower(), "skill", f"test:{i}", name, "hard", "en", "")
        for i, name in enumerate(["Python", "Django", "nursing care", "bookkeeping", "welding"])
    ]
    lexicon = Lexicon(rows)
    service = TextService(encoder, lambda: lexicon, tmp_path)
    links = service.link("python web framework", 2)
    assert {name for name, _ in links} == {"Python", "Django"}
    assert links[0][1] >= links[1][1]
    # The skill space is cached: a second service reads it instead of embedding again.
    assert list(tmp_path.glob("skill-space-*.npy"))
    assert TextService(encoder, lambda: lexicon, tmp_path).link("accounting ledger", 1)[0][0] == "bookkeeping"
