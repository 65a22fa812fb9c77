"""Per-pool indexes: exact similarities, persistence, and rebuilds from the store when stale or re-modelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cerebro_serve.index import IndexRegistry, VectorIndex
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.queries import PoolCreate


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_similarities_match_a_dense_product_after_adds_and_removals() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(50, 8)))
    index = VectorIndex(8)
    index.add(np.arange(100, 150), vectors)
    index.remove(np.array([110, 120]))
    index.add(np.array([130]), vectors[:1])  # re-adding an id replaces its vector
    ids, sims = index.similarities(vectors[0])
    expected = {100 + i: float(vectors[i] @ vectors[0]) for i in range(50) if 100 + i not in (110, 120)}
    expected[130] = float(vectors[0] @ vectors[0])
    assert len(index) == 48
    assert dict(zip(ids.tolist(), sims.tolist())) == {k: pytest.approx(v, abs=1e-5) for k, v in expected.items()}


def test_empty_index_gives_empty_similarities() -> None:
    ids, sims = VectorIndex(4).similarities(np.ones(4, dtype=np.float32))
    assert ids.shape == (0,) and sims.shape == (0,)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    index = VectorIndex(4, revision=7)
    index.add(np.array([5, 9]), _unit(rng.normal(size=(2, 4))))
    index.save(tmp_path / "pool.faiss")
    loaded = VectorIndex.load(tmp_path / "pool.faiss")
    assert loaded.revision == 7 and len(loaded) == 2
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    np.testing.assert_allclose(loaded.similarities(query)[1], index.similarities(query)[1])


def _workspace_with_profiles(workspace: Workspace, texts: list[str]) -> str:
    source = workspace.pools.create(PROFILE, PoolCreate(name="pool")).key
    workspace.records.index(PROFILE, source, [Profile(text=text) for text in texts])
    return source


def test_stale_index_file_is_rebuilt_from_the_store(workspace: Workspace, tmp_path: Path) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    workspace.registry.save_all()
    # A write the file never saw (as after a crash): the revision check must catch it.
    workspace.records.index(PROFILE, source, [Profile(text="icu nurse")])
    fresh = IndexRegistry(workspace.store, tmp_path / "indexes", workspace.encoder.name,
                          workspace.encoder.dimension, reembed=workspace.records.reembed)
    assert len(fresh.get(source)) == 3


def test_current_index_file_is_loaded_not_rebuilt(workspace: Workspace, tmp_path: Path) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    workspace.registry.save_all()
    calls: list[list[int]] = []
    fresh = IndexRegistry(workspace.store, tmp_path / "indexes", workspace.encoder.name,
                          workspace.encoder.dimension, reembed=lambda pool, ids: calls.append(ids) or {})
    index = fresh.get(source)
    assert len(index) == 2 and index.revision == workspace.store.pool_revision(source) and calls == []


def test_vectors_from_another_model_are_recomputed(workspace: Workspace, tmp_path: Path) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    ids, _, _ = workspace.store.live_embeddings(source)
    workspace.store.replace_embeddings(source, "retired-model", {int(i): np.zeros(384) for i in ids})
    fresh = IndexRegistry(workspace.store, None, workspace.encoder.name, workspace.encoder.dimension,
                          reembed=workspace.records.reembed)
    index = fresh.get(source)
    _, models, _ = workspace.store.live_embeddings(source)
    assert models == [workspace.encoder.name] * 2
    query = workspace.encoder.embed_documents(["python developer"])[0]
    _, sims = index.similarities(query)
    assert max(sims) > 0.99  # real vectors again, not the zeros


def test_concurrent_writes_all_land_in_store_and_index(workspace: Workspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    source = workspace.pools.create(PROFILE, PoolCreate(name="busy")).key
    texts = [f"candidate number {i} with python and sql" for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda text: workspace.records.index(PROFILE, source, [Profile(text=text)]), texts))
    index = workspace.registry.get(source)
    stored_ids, _, _ = workspace.store.live_embeddings(source)
    ids, _ = index.similarities(np.ones(workspace.encoder.dimension, dtype=np.float32))
    assert sorted(ids.tolist()) == stored_ids.tolist() and len(ids) == 24
    assert index.revision == workspace.store.pool_revision(source)
