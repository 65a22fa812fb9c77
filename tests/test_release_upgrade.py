"""Upgrades: the data dirs earlier releases left (tests/data/releases, made by tools/make_release_datadir.py)
open with this code through the server's start path, which migrates the store; every record, feedback event,
algorithm version, key and copilot is still there, and scoring and searching rank as that release did (with
the same scores where the release read records' views as this code does; where it read them another way,
the vectors are read again and the shipped algorithms were refitted, so only the order is kept). A store a
newer release migrated is refused, untouched.

The fixtures are SQLite data dirs because a data dir is what users upgrade in place, and SQLite is its
store. The migrations are one code path on both dialects (store/schema.py, SQLAlchemy Core) and every
PostgreSQL test runs all of them on an empty schema; a PostgreSQL fixture would be a pg_dump archive, which
only a pg_restore of the same or a newer major version reads, tying these tests to one server version.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from cerebro_serve import cli
from cerebro_serve.api import create_app
from cerebro_serve.engine.models import DEFAULT_MODEL
from cerebro_serve.engine.views import tagged_model
from cerebro_serve.record_features import is_current_schema
from cerebro_serve.services import Workspace
from cerebro_serve.settings import Settings
from cerebro_serve.store import FACETS_VERSION, SqlStore
from cerebro_serve.store.schema import MIGRATIONS, NewerSchema

RELEASES = Path(__file__).resolve().parent / "data" / "releases"
READY_WAIT_SECONDS = 120  # a guard against a hang, not a measure: warm-up loads the lexicon and the pools


@dataclass(frozen=True)
class Release:
    name: str  # <version>-schema<N>
    archive: Path
    expected: dict[str, Any]

    def unpack(self, directory: Path) -> Path:
        with tarfile.open(self.archive) as tar:
            tar.extractall(directory, filter="data")
        return directory


def _releases() -> list[Release]:
    return [
        Release(path.name, path / "datadir.tar.xz", json.loads((path / "expected.json").read_text()))
        for path in sorted(RELEASES.iterdir())
    ]


@dataclass
class Upgraded:
    client: TestClient
    workspace: Workspace
    expected: dict[str, Any]
    vectors_read_as: set[str]  # the labels of the release's stored vectors (`engine/views.vectors_tag`)


@pytest.fixture(scope="module", params=_releases(), ids=lambda release: release.name)
def upgraded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgraded]:
    """The release's data dir opened as `cerebro-serve serve` opens one (CPU, float32: as it was made)."""
    release: Release = request.param
    data_dir = release.unpack(tmp_path_factory.mktemp(release.name) / "data")
    with sqlite3.connect(data_dir / "cerebro.db") as connection:
        read_as = {model for (model,) in connection.execute("SELECT DISTINCT model FROM records WHERE model != ''")}
    connection.close()
    workspace, batcher = cli.build_workspace(Settings(data_dir=data_dir, device="cpu", precision="float32"))
    try:
        with TestClient(create_app(workspace, 10 * 1024 * 1024), base_url="http://upgrade.local") as client:
            client.headers["X-API-KEY"] = (data_dir / "api_key").read_text().strip()
            deadline = time.monotonic() + READY_WAIT_SECONDS
            while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.get("/readyz").status_code == 200, client.get("/readyz").text
            yield Upgraded(client, workspace, release.expected, read_as)
    finally:
        batcher.close()


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/v1/{path}", params=params)
    assert response.status_code == 200, f"{path}: {response.text}"
    return response.json()


def test_the_store_is_migrated_and_its_keys_still_open_it(upgraded: Upgraded) -> None:
    client, expected = upgraded.client, upgraded.expected
    assert expected["schema_version"] <= len(MIGRATIONS) == upgraded.workspace.store.schema_version
    assert client.headers["X-API-KEY"] == expected["admin_key"]  # the key file the release generated
    assert _get(client, "auth")["code"] == 200
    read_key = {"X-API-KEY": expected["made"]["read_key"]}
    assert client.get("/v1/auth", headers=read_key).status_code == 200
    refused = client.post("/v1/source", json={"name": "Not with a read key"}, headers=read_key)
    assert refused.status_code == 403


def test_records_feedback_algorithms_copilots_and_attributes_are_all_there(upgraded: Upgraded) -> None:
    client, made, inventory = upgraded.client, upgraded.expected["made"], upgraded.expected["inventory"]
    boards = {made["board"], made["history_board"]}
    for pool_key, references in inventory["live_references"].items():
        kind, field = ("jobs", "board_keys") if pool_key in boards else ("profiles", "source_keys")
        listed = _get(client, f"storing/{kind}", **{field: json.dumps([pool_key]), "limit": 1000})["data"]
        assert sorted(record["reference"] for record in listed) == references
    for reference in made["archived"]:
        archived = _get(client, "profile/indexing", source_key=made["source"], reference=reference)["data"]
        assert archived["archived_at"] is not None
    assert _get(client, "ratings", role="recruiter")["meta"]["total"] == inventory["ratings"]
    assert _get(client, "trackings", role="candidate")["meta"]["total"] == inventory["trackings"]
    algorithm = _get(client, "algorithm", algorithm_key=made["algorithm"])["data"]
    assert algorithm["name"] == inventory["algorithm"]["name"]
    assert algorithm["active_version"] == inventory["algorithm"]["active_version"]
    assert [version["version"] for version in algorithm["versions"]] == inventory["algorithm"]["versions"]
    copilots = _get(client, "copilots", limit=100)["data"]
    assert sorted([copilot["key"], copilot["type"], copilot["name"]] for copilot in copilots) == inventory["copilots"]
    for reference, attributes in inventory["attributes"].items():
        read = _get(client, "fairness/attributes", source_key=made["source"], profile_reference=reference)["data"]
        assert {field: read[field] for field in attributes} == attributes


def test_scoring_and_searching_rank_as_the_release_did(upgraded: Upgraded) -> None:
    paths = {"profiles_scoring": "profiles/scoring", "jobs_scoring": "jobs/scoring"}
    paths |= {"profiles_searching": "profiles/searching", "jobs_searching": "jobs/searching"}
    for name, recorded in upgraded.expected["answers"].items():
        path = next(path for prefix, path in paths.items() if name.startswith(prefix))
        answer = _get(upgraded.client, path, **recorded["params"])
        data = answer["data"]
        items = data["profiles"] if "profiles" in data else data["jobs"]
        assert [item["reference"] for item in items] == recorded["references"], name
        if recorded["scores"] is not None:
            scores = [match for _, match in data["predictions"]]
            if upgraded.vectors_read_as == {upgraded.workspace.registry.model}:
                assert scores == pytest.approx(recorded["scores"], abs=1e-4), name
            else:  # read again, scored by refitted algorithms: probabilities still, in the release's order
                assert all(0 <= score <= 1 for score in scores) and scores == sorted(scores, reverse=True), name
        for field in ("algorithm_key", "algorithm_version", "total"):
            assert answer["meta"].get(field) == recorded["meta"].get(field), f"{name}: {field}"


def test_every_record_is_described_by_this_release(upgraded: Upgraded) -> None:
    """Features from an older extraction are computed again, and facets written, when the pools open (the
    vectors stay where the release read the views as this code does: the scores above are the release's)."""
    with upgraded.workspace.store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT features, facets_version FROM records")).all()
    assert rows
    assert all(is_current_schema(bytes(features)) for features, _ in rows)
    assert {version for _, version in rows} == {FACETS_VERSION}


def test_the_audit_chain_still_verifies(upgraded: Upgraded) -> None:
    result = upgraded.workspace.store.audit.verify()
    assert result.broken_at is None and result.checked >= upgraded.expected["audit_events"]


def test_warm_up_loaded_every_pool_index(upgraded: Upgraded) -> None:
    loaded = {stats.pool_key for stats in upgraded.workspace.registry.stats()}
    assert set(upgraded.expected["inventory"]["live_references"]) <= loaded


def test_a_fresh_store_opens_after_an_upgrade_in_the_same_process(upgraded: Upgraded, tmp_path: Path) -> None:
    """Migrations leave the table definitions alone: a store created afterwards is created once."""
    SqlStore(f"sqlite:///{tmp_path / 'fresh.db'}").close()


def _from_a_newer_release(tmp_path: Path) -> Path:
    """A release's data dir, as a release with one more migration than this code knows would leave it."""
    data_dir = _releases()[0].unpack(tmp_path / "data")
    with sqlite3.connect(data_dir / "cerebro.db") as connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    connection.close()
    return data_dir


def test_a_store_a_newer_release_migrated_is_refused_untouched(tmp_path: Path) -> None:
    data_dir = _from_a_newer_release(tmp_path)
    before = _schema(data_dir / "cerebro.db")
    with pytest.raises(NewerSchema, match=rf"schema is version {len(MIGRATIONS) + 1}, newer than this release"):
        SqlStore(f"sqlite:///{data_dir / 'cerebro.db'}")
    assert _schema(data_dir / "cerebro.db") == before


def _schema(path: Path) -> tuple[list[Any], list[Any]]:
    """The tables and indexes, and the migrations recorded."""
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        versions = connection.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    connection.close()
    return tables, versions


@pytest.fixture
def no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` must stop before it loads a model."""

    def model_loaded(*_: object) -> None:
        raise AssertionError("serve went past the store")

    monkeypatch.setattr("cerebro_serve.engine.load_encoder", model_loaded)


def test_serve_refuses_it_with_a_clear_message(
    tmp_path: Path, no_model_loads: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = _from_a_newer_release(tmp_path)
    assert cli.main(["--data-dir", str(data_dir), "serve"]) == 2
    message = capsys.readouterr().err
    assert "cerebro-serve: the store's schema is version" in message and "Run that release" in message


def test_every_release_fixture_is_small() -> None:
    """Each release adds one; the repository should not grow by megabytes a release."""
    for release in _releases():
        assert release.archive.stat().st_size < 512 * 1024, release.name


def test_the_data_dir_keeps_the_model_its_records_were_embedded_with(upgraded: Upgraded) -> None:
    """These releases embedded with all-MiniLM-L6-v2, their default then; unnamed, the model stays theirs
    (services/workspace_model.py), not today's default."""
    assert {tagged_model(tag) for tag in upgraded.vectors_read_as} == {upgraded.workspace.encoder.name}
    assert upgraded.workspace.encoder.name != DEFAULT_MODEL


def test_serve_asks_for_the_local_model_a_data_dir_was_embedded_by(
    tmp_path: Path, no_model_loads: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = _releases()[-1].unpack(tmp_path / "data")
    with sqlite3.connect(data_dir / "cerebro.db") as connection:
        connection.execute("UPDATE records SET model = 'tuned-on-our-hires:heads128-254'")
    connection.close()
    assert cli.main(["--data-dir", str(data_dir), "serve"]) == 2
    message = capsys.readouterr().err
    assert "the local model 'tuned-on-our-hires'" in message and "set CEREBRO_MODEL" in message
