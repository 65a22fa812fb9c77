"""Consent per operation, privacy levels and erasure (issue #14): what a profile refuses never happens to
it, a change of consent takes effect at once, and an erased profile leaves no trace."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import PYTHON_JOB, PYTHON_RESUME, profile

from cerebro_serve.index import IndexRegistry
from cerebro_serve.objects import ConsentAlgorithmic, Job, Profile
from cerebro_serve.record_features import REFUSES_EMBEDDING
from cerebro_serve.scoring.consent import allows, privacy_level, refusal
from cerebro_serve.services import Workspace
from cerebro_serve.store import SqlStore
from cerebro_serve.store.schema import _let_feedback_outlive_its_profile
from cerebro_serve.training.dataset import Pair, WorkflowLog, allows_learning
from cerebro_serve.training.pipeline import prepare

NO_EMBEDDING = "Quetzalcoatl-embedding-refused: Python engineer, Django, PostgreSQL, Kubernetes."
NO_SCORING = "Xochipilli-scoring-refused: Python engineer, Django, PostgreSQL, Kubernetes."
PRIVATE = "Tlaloc-private: Python engineer, Django, PostgreSQL, Kubernetes."


class SpyEncoder:
    """The workspace's encoder, remembering every text it was asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def spy(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> SpyEncoder:
    """What the record service (the one place a record's text is embedded) sends to the encoder."""
    spy = SpyEncoder(workspace.records.encoder)
    monkeypatch.setattr(workspace.records, "encoder", spy)
    return spy


def _index(client, source: str, reference: str, text: str, **fields: Any) -> dict[str, Any]:
    body = {**profile(text, reference=reference, **fields), "source_key": source}
    response = client.post("/v1/profile/indexing", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _job(client, board: str) -> dict[str, Any]:
    response = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board, "reference": "py"})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _scoring(client, source: str, board: str, **params: Any) -> dict[str, Any]:
    query = {"source_keys": json.dumps([source]), "board_key": board, "job_reference": "py", "sort_by": "scoring"}
    response = client.get("/v1/profiles/scoring", params={**query, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _references(answer: dict[str, Any]) -> list[str]:
    return [item["reference"] for item in answer["data"]["profiles"]]


def _stored_embedding(store: SqlStore, key: str) -> bytes:
    with store.engine.connect() as connection:
        return bytes(
            connection.execute(sa.text("SELECT embedding FROM records WHERE key = :k"), {"k": key}).scalar_one()
        )


# -- the predicate -----------------------------------------------------------------------------------


def test_either_party_refuses_an_operation_and_older_names_count() -> None:
    assert allows(None, "scoring") and allows(ConsentAlgorithmic(), "embedding")
    assert refusal(ConsentAlgorithmic(owner={"scoring": False}), "scoring") == (
        "the profile's owner withheld consent to scoring"
    )
    assert not allows(ConsentAlgorithmic(controller={"embedding": False}), "embedding")
    assert allows(ConsentAlgorithmic(controller={"embedding": False}), "scoring")
    assert not allows(ConsentAlgorithmic(owner={"reasoning": False}), "upskilling")
    assert not allows(ConsentAlgorithmic(controller={"learning": False}), "training")
    assert not allows(ConsentAlgorithmic(owner={"training": False}), "training")


def test_privacy_levels_allow_less_at_each_step_down() -> None:
    private = ConsentAlgorithmic(privacy="private")
    personal = ConsentAlgorithmic(privacy="personalisation")
    assert [allows(private, op) for op in ("parsing", "embedding", "searching", "scoring", "training")] == [False] * 5
    assert all(allows(personal, op) for op in ("parsing", "embedding", "searching", "scoring", "upskilling"))
    assert not allows(personal, "training")
    assert privacy_level(None) == "improvement"
    assert privacy_level(ConsentAlgorithmic(owner={"learning": False})) == "personalisation"
    # An explicit level does not lift a refusal.
    assert not allows(ConsentAlgorithmic(privacy="improvement", controller={"training": False}), "training")


def test_only_improvement_profiles_and_their_feedback_train() -> None:
    levels = [None, "improvement", "personalisation", "private"]
    profiles = {
        number: Profile(consent_algorithmic=ConsentAlgorithmic(privacy=levels[number % 4])) for number in range(160)
    }
    assert [allows_learning(profiles[number]) for number in range(4)] == [True, True, False, False]
    jobs = {1000 + number: Job(name=f"job {number}") for number in range(40)}
    pairs = [Pair(number, 1000 + number % 40, number // 40 % 2, float(number // 40 % 2)) for number in range(160)]
    workflow = WorkflowLog()
    prepared = prepare(pairs, {**profiles, **jobs}, workflow)
    [step] = [step for step in workflow.steps if step["step"] == "privacy consent"]
    assert (step["kept"], step["dropped"], step["profiles_left_out"]) == (80, 80, 80)
    used = {pair.profile_id for pair in prepared.train + prepared.validation}
    assert used and all(number % 4 in (0, 1) for number in used)


# -- embedding and scoring ---------------------------------------------------------------------------


def test_an_opted_out_profile_is_never_embedded_nor_scored_and_is_listed_for_manual_review(
    client, pools, workspace, spy
) -> None:
    source, board = pools
    _index(client, source, "agrees", PYTHON_RESUME)
    _index(client, source, "also-agrees", "Junior Python developer who knows Django.")
    no_embedding = _index(
        client, source, "no-embedding", NO_EMBEDDING, consent_algorithmic={"owner": {"embedding": False}}
    )
    _index(client, source, "no-scoring", NO_SCORING, consent_algorithmic={"controller": {"scoring": False}})
    _index(client, source, "private", PRIVATE, consent_algorithmic={"privacy": "private"})
    _job(client, board)

    assert not any(marker in text for text in spy.texts for marker in ("Quetzalcoatl", "Tlaloc"))
    assert _stored_embedding(workspace.store, no_embedding["key"]) == b""

    plain = _scoring(client, source, board)
    assert sorted(_references(plain)) == ["agrees", "also-agrees"]
    assert "manual_review" not in plain["data"] and plain["meta"]["total"] == 2

    manual = _scoring(client, source, board, include_manual="true")
    references = _references(manual)
    assert references[:2] == _references(plain) and sorted(references[2:]) == ["no-embedding", "no-scoring", "private"]
    assert manual["data"]["manual_review"] == [False, False, True, True, True]
    assert manual["data"]["predictions"][:2] == plain["data"]["predictions"]
    assert manual["data"]["predictions"][2:] == [None, None, None]
    assert (manual["meta"]["total"], manual["meta"]["scored"], manual["meta"]["manual_review"]) == (5, 2, 3)
    # Paging runs on across both lists.
    paged = [_scoring(client, source, board, include_manual="1", limit=2, page=page) for page in (1, 2, 3)]
    assert sum((_references(answer) for answer in paged), []) == references
    assert [answer["data"]["manual_review"] for answer in paged] == [[False, False], [True, True], [True]]
    # Filters apply to the manual list too.
    filtered = _scoring(client, source, board, include_manual="true", text_keywords=json.dumps(["Quetzalcoatl"]))
    assert _references(filtered) == ["no-embedding"] and filtered["meta"]["scored"] == 0

    # Listing by date needs only searching consent; ranking by relevance needs the vectors.
    search = {"source_keys": json.dumps([source])}
    listed = client.get("/v1/profiles/searching", params=search).json()
    assert "no-embedding" in _references(listed) and "private" not in _references(listed)
    relevance = {**search, "sort_by": "searching", "text_keywords": json.dumps(["Python"])}
    assert "no-embedding" not in _references(client.get("/v1/profiles/searching", params=relevance).json())

    # Nothing is scored or explained for it, from either side.
    pair = {"source_key": source, "board_key": board, "profile_reference": "no-embedding", "job_reference": "py"}
    graded = client.get("/v1/profile/grading", params=pair).json()
    assert graded["code"] == 403 and "consent to embedding" in graded["message"]
    jobs = client.get(
        "/v1/jobs/scoring",
        params={"board_keys": json.dumps([board]), "source_key": source, "profile_reference": "no-embedding"},
    ).json()
    assert jobs["code"] == 403 and "consent to embedding" in jobs["message"]
    assert not any("Quetzalcoatl" in text for text in spy.texts)
    # A write says nothing of views the encoder would cut: it reads none of them.
    long = {
        **profile("Python engineer. " * (workspace.records.embed_max_chars // 16 + 1), reference="long-no-embedding"),
        "source_key": source,
        "consent_algorithmic": {"owner": {"embedding": False}},
    }
    answer = client.post("/v1/profile/indexing", json=long).json()
    assert answer["code"] == 201 and "embedding" not in answer.get("meta", {})


def test_a_change_of_consent_takes_effect_at_once_and_after_a_restart(client, pools, workspace, tmp_path) -> None:
    workspace.index_sync.stop()  # this test publishes and removes the files itself
    source, board = pools
    flipping = _index(client, source, "flips", PYTHON_RESUME)
    _index(client, source, "stays", "Junior Python developer who knows Django.")
    _job(client, board)
    assert sorted(_references(_scoring(client, source, board))) == ["flips", "stays"]
    workspace.registry.save_all()
    files = tmp_path / "indexes"
    assert list(files.rglob(f"{source}/*/vectors.npy"))

    withdrawn = {"source_key": source, "key": flipping["key"], "consent_algorithmic": {"owner": {"embedding": False}}}
    assert client.put("/v1/profile/indexing", json=withdrawn).status_code == 200
    assert _stored_embedding(workspace.store, flipping["key"]) == b""
    assert _references(_scoring(client, source, board)) == ["stays"]
    index = workspace.records.pool_index(source)
    row = index.columns.row_of(flipping["id"])
    assert row is not None and not index.vectors.vector(row).any()
    assert not list(files.rglob(f"{source}/*/vectors.npy"))  # files written before held its vectors

    # A restart, with the index files written at shutdown and without any: it is still not served.
    workspace.registry.save_all()
    for keep_files in (True, False):
        if not keep_files:
            for path in files.glob(f"*/{source}"):
                shutil.rmtree(path)
        registry = workspace.registry
        restarted, stale = IndexRegistry(workspace.store, files, registry.model, registry.dimension).open(source)
        row = restarted.columns.row_of(flipping["id"])
        assert stale == [] and row is not None and not restarted.vectors.vector(row).any()
        assert restarted.columns.refusals[row] & REFUSES_EMBEDDING

    granted = {"source_key": source, "key": flipping["key"], "consent_algorithmic": {"owner": {"embedding": True}}}
    assert client.put("/v1/profile/indexing", json=granted).status_code == 200
    assert len(_stored_embedding(workspace.store, flipping["key"])) > 0
    assert sorted(_references(_scoring(client, source, board))) == ["flips", "stays"]


# -- erasure -----------------------------------------------------------------------------------------


def test_erasure_leaves_no_trace_and_says_what_it_removed(client, pools, workspace, store, tmp_path) -> None:
    workspace.index_sync.stop()  # this test publishes the files itself
    source, board = pools
    person = _index(
        client,
        source,
        "erase-me",
        PYTHON_RESUME,
        full_name="Ada Erasable",
        info={"full_name": "Ada Erasable", "email": "ada@erasable.example"},
        tags=[{"name": "city", "value": "Paris"}],
        interests=[{"name": "climbing"}],
    )
    _index(client, source, "stays", "Junior Python developer who knows Django.")
    _job(client, board)
    rating = {
        "source_key": source,
        "board_key": board,
        "profile_reference": "erase-me",
        "job_reference": "py",
        "role": "recruiter",
        "score": 0.9,
        "author_email": "recruiter@example.org",
        "comment": "Ada was great in the interview",
    }
    assert client.post("/v1/rating", json=rating).status_code == 201
    jobs = {"board_keys": json.dumps([board]), "source_key": source, "profile_key": person["key"]}
    assert client.get("/v1/jobs/scoring", params=jobs).status_code == 200
    workspace.recorder.flush()
    with store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO parsing_jobs (key, source_key, reference, status, created_at_us, updated_at_us) "
                "VALUES (:key, :source, 'erase-me', 'succeeded', 0, 0)"
            ),
            {"key": person["key"], "source": source},
        )
        facets = sum(
            connection.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE record_id = :id"), {"id": person["id"]}
            ).scalar_one()
            for table in ("record_sections", "record_facets")
        )
        assert facets >= 1  # its interests, for filters: personal data, erased with it
        has_attributes = sa.inspect(connection).has_table("fairness_attributes")
        if has_attributes:
            connection.execute(
                sa.text(
                    "INSERT INTO fairness_attributes (record_id, source_key, gender, updated_at_us) "
                    "VALUES (:id, :source, 'female', 0)"
                ),
                {"id": person["id"], "source": source},
            )
    before = workspace.records.pool_index(source)
    vector = before.vectors.vector(before.columns.row_of(person["id"]))
    workspace.registry.save_all()

    erase = {"source_key": source, "reference": "erase-me"}
    answer = client.delete("/v1/profile", params=erase).json()
    assert answer["code"] == 200, answer
    assert answer["data"] == {
        "key": person["key"],
        "removed": {
            "records": 1,
            "vectors": 1,
            "features": 1,
            "tags": 1,
            "facets": facets,
            "protected_attributes": int(has_attributes),
            "parsing_jobs": 1,
            "feedback_anonymised": 1,
            "scoring_calls_unlinked": 1,
        },
    }

    traces = {"id": person["id"], "key": person["key"]}
    with store.engine.connect() as connection:
        for sql in (
            "SELECT count(*) FROM records WHERE id = :id OR key = :key OR reference = 'erase-me'",
            "SELECT count(*) FROM records WHERE email = 'ada@erasable.example' OR name LIKE '%erasable%'",
            "SELECT count(*) FROM record_tags WHERE record_id = :id",
            "SELECT count(*) FROM record_sections WHERE record_id = :id",
            "SELECT count(*) FROM record_facets WHERE record_id = :id",
            "SELECT count(*) FROM parsing_jobs WHERE key = :key OR reference = 'erase-me'",
            "SELECT count(*) FROM feedback WHERE profile_id = :id OR author_email IS NOT NULL OR comment IS NOT NULL",
            "SELECT count(*) FROM scoring_calls WHERE anchor_key = :key",
            *(["SELECT count(*) FROM fairness_attributes WHERE record_id = :id"] if has_attributes else []),
        ):
            assert connection.execute(sa.text(sql), traces).scalar_one() == 0, sql
        # The event stays for aggregate counts, linked to no one.
        assert connection.execute(sa.text("SELECT count(*) FROM feedback WHERE profile_id IS NULL")).scalar_one() == 1
    listed = client.get("/v1/ratings", params={"role": "recruiter", "source_keys": json.dumps([source])}).json()
    assert listed["code"] == 200 and listed["meta"]["total"] == 0 and listed["data"] == []

    # The index (in memory, then on disk) holds neither its row nor its vector.
    index = workspace.records.pool_index(source)
    assert index.columns.row_of(person["id"]) is None and len(index.vectors) == 1
    workspace.registry.save_all()
    saved = list((tmp_path / "indexes").rglob(f"{source}/*/vectors.npy"))
    assert saved and not any(np.isclose(np.load(path) @ vector, 1.0, atol=1e-4).any() for path in saved)
    assert _references(_scoring(client, source, board)) == ["stays"]

    again = client.delete("/v1/profile", params=erase)
    assert again.status_code == 404 and again.json()["code"] == 404
    assert client.get("/v1/profile/indexing", params=erase).json()["code"] == 400


def test_bad_consent_and_erasure_requests_get_envelope_errors(client, pools, workspace) -> None:
    source, _ = pools
    bad_level = {**profile("Text."), "source_key": source, "consent_algorithmic": {"privacy": "public"}}
    answer = client.post("/v1/profile/indexing", json=bad_level).json()
    assert answer["code"] == 400 and "privacy" in answer["message"]
    for params, status, words in (
        ({"source_key": source}, 400, "key"),
        ({"source_key": "0" * 40, "key": "1" * 40}, 400, "Unable to find object: source"),
        ({"source_key": source, "key": "1" * 40}, 404, "no profile"),
    ):
        response = client.delete("/v1/profile", params=params)
        assert response.status_code == status and words in response.json()["message"], response.text
    read_key = workspace.keys.create("read")
    refused = client.delete(
        "/v1/profile", params={"source_key": source, "key": "1" * 40}, headers={"X-API-KEY": read_key}
    )
    assert refused.status_code == 403


def test_the_migration_lets_existing_feedback_outlive_its_profile(tmp_path) -> None:
    """A store made before erasure existed had `feedback.profile_id NOT NULL` (SQLite rebuilds the table)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE feedback (id INTEGER NOT NULL, key VARCHAR(40) NOT NULL, profile_id INTEGER NOT NULL, "
            "comment TEXT, PRIMARY KEY (id), UNIQUE (key))"
        )
        connection.exec_driver_sql("CREATE INDEX ix_feedback_profile ON feedback (profile_id)")
        connection.exec_driver_sql("INSERT INTO feedback VALUES (1, 'k', 7, 'kept')")
        _let_feedback_outlive_its_profile(connection)
        connection.exec_driver_sql("UPDATE feedback SET profile_id = NULL")
        assert connection.exec_driver_sql("SELECT key, profile_id, comment FROM feedback").all() == [
            ("k", None, "kept")
        ]
        indexes = {index["name"] for index in sa.inspect(connection).get_indexes("feedback")}
        assert indexes == {"ix_feedback_profile"}
    engine.dispose()
