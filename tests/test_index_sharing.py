"""Several processes serving one data dir: each maps the pools' published index files (shared pages),
applies the writes the others made from the store, and one of them publishes new generations.

Two workspaces on one store and one index directory stand for two server processes: each registry takes
the writer's lock file with its own descriptor, exactly as a second process would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import make_workspace, stop_workspace

from cerebro_serve.index import snapshots
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.queries import PoolCreate, RecordLookup
from cerebro_serve.store import SqlStore

TEXTS = ["python developer with django", "pastry chef in lyon", "icu nurse", "data engineer spark sql"]


@pytest.fixture
def second(store: SqlStore, batcher, tmp_path: Path, admin_key: str, workspace: Workspace) -> Iterator[Workspace]:
    """Another server process on the same store and index files (made after `workspace`: not the writer)."""
    other = make_workspace(store, batcher, tmp_path / "indexes", admin_key)
    yield other
    stop_workspace(other)


def _source(workspace: Workspace, texts: list[str]) -> str:
    source = workspace.pools.create(PROFILE, PoolCreate(name="shared")).key
    workspace.records.index(PROFILE, source, [Profile(text=text, reference=text) for text in texts])
    return source


def _ranking(workspace: Workspace, source: str, text: str) -> list[int]:
    """Record ids by similarity to `text`, as this process's index answers."""
    index = workspace.records.pool_index(source)
    query = workspace.encoder.embed_documents([text])[0]
    found = index.vectors.search(query, 10, index.columns.snapshot().alive[: len(index.vectors)].copy())
    return [int(index.columns.snapshot().record_ids[row]) for row in found.rows]


def test_a_second_process_maps_the_published_files_and_ranks_alike(workspace: Workspace, second: Workspace) -> None:
    source = _source(workspace, TEXTS)
    assert workspace.registry.is_writer() and not second.registry.is_writer()
    workspace.registry.snapshot(source)
    second.index_sync.tick()  # type: ignore[union-attr]  # had it built the pool in memory, it maps the files now
    index = second.records.pool_index(source)
    assert isinstance(index.vectors.matrix, np.memmap) and isinstance(index.columns.title, np.memmap)
    assert index.generation == workspace.records.pool_index(source).generation
    for text in ("python engineer", "nurse"):
        assert _ranking(second, source, text) == _ranking(workspace, source, text)


def test_writes_from_either_process_reach_the_other_at_its_next_sync(workspace: Workspace, second: Workspace) -> None:
    source = _source(workspace, TEXTS)
    second.records.pool_index(source)
    second.index_sync.tick()  # type: ignore[union-attr]  # warm-up may have loaded the pool while it filled
    [added] = second.records.index(PROFILE, source, [Profile(text="senior python backend developer", reference="new")])
    assert added.key not in _keys(workspace, source)  # not before the writer's process catches up
    workspace.index_sync.tick()  # type: ignore[union-attr]
    assert _keys(workspace, source) == _keys(second, source) and added.key in _keys(workspace, source)
    assert _ranking(workspace, source, "python backend") == _ranking(second, source, "python backend")

    chef = workspace.records.find(PROFILE, source, RecordLookup(reference="pastry chef in lyon"))
    workspace.records.archive(PROFILE, source, RecordLookup(key=chef.key), True)
    second.index_sync.tick()  # type: ignore[union-attr]
    assert _keys(second, source) == _keys(workspace, source) and chef.key not in _keys(second, source)
    index = second.records.pool_index(source)
    assert index.revision == workspace.store.pools.pool_revision(source)


def test_an_erasure_clears_the_row_everywhere_and_the_writer_publishes_files_without_it(
    workspace: Workspace, second: Workspace, tmp_path: Path
) -> None:
    source = _source(workspace, TEXTS)
    workspace.registry.snapshot(source)
    second.records.pool_index(source)
    nurse = workspace.records.find(PROFILE, source, RecordLookup(reference="icu nurse"))
    vector = workspace.records.pool_index(source).vectors.vector(
        workspace.records.pool_index(source).columns.row_of(nurse.id)  # type: ignore[arg-type]
    )
    second.records.erase(PROFILE, source, RecordLookup(key=nurse.key))  # the other process erases it
    workspace.index_sync.tick()  # type: ignore[union-attr]  # the writer clears the row, then publishes
    index = workspace.records.pool_index(source)
    row = index.columns.row_of(nurse.id)
    assert row is None or (not index.vectors.vector(row).any() and not index.columns.snapshot().alive[row])
    published = snapshots.current(tmp_path / "indexes" / workspace.registry._directory.name / source)  # type: ignore[union-attr]
    assert published is not None
    saved = np.load(published.directory / "vectors.npy")
    assert not np.isclose(saved @ vector, 1.0, atol=1e-4).any()
    assert (
        nurse.id
        not in np.load(published.directory / "columns" / "record_ids.npy")[: published.meta["rows"]][
            np.load(published.directory / "columns" / "alive.npy")[: published.meta["rows"]]
        ]
    )


def test_the_writer_publishes_after_enough_writes_and_the_others_map_the_new_generation(
    workspace: Workspace, second: Workspace
) -> None:
    source = _source(workspace, TEXTS)
    workspace.registry.snapshot(source)
    second.index_sync.tick()  # type: ignore[union-attr]
    first = second.records.pool_index(source).generation
    workspace.records.index(PROFILE, source, [Profile(text=f"welder number {i}") for i in range(3)])
    workspace.index_sync.snapshot_changes = 3  # type: ignore[union-attr]
    workspace.index_sync.tick()  # type: ignore[union-attr]
    second.index_sync.tick()  # type: ignore[union-attr]
    index = second.records.pool_index(source)
    assert first is not None and index.generation is not None and index.generation > first
    assert isinstance(index.vectors.matrix, np.memmap) and len(index.vectors) == len(TEXTS) + 3


def _keys(workspace: Workspace, source: str) -> set[str]:
    index = workspace.records.pool_index(source)
    snapshot = index.columns.snapshot()
    ids = snapshot.record_ids[: snapshot.rows][snapshot.alive[: snapshot.rows]]
    return {record.key for record in workspace.store.records.load_records(ids.tolist())}
