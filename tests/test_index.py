"""Per-pool indexes: exact and IVF search with row masks, feature columns, persistence, and rebuilds from
the store when stale or re-modelled."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import head_of

from cerebro_serve.engine.views import PROFILE_HEAD_TOKENS, VIEWS, vectors_tag
from cerebro_serve.index import IndexRegistry, VectorIndex
from cerebro_serve.index.columns import SIDE_VIEWS, FeatureColumns, quantize_rows
from cerebro_serve.index.filters import GeoFilter, RowFilter, row_mask
from cerebro_serve.index.registry import PoolIndex
from cerebro_serve.index.vector_index import ivf_lists
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.services import Workspace
from cerebro_serve.services.queries import PoolCreate
from cerebro_serve.services.records import RecordService
from cerebro_serve.store import TagClause


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _features(**overrides) -> RecordFeatures:
    values = dict(
        skill_ids=[1, 5],
        skill_weights=[2.0, 3.0],
        terms=[3, 8],
        term_freqs=[1, 2],
        length=6,
        years=4.0,
        education=3,
        languages=1,
        lat=48.85,
        lng=2.35,
        title="nurse",
        skills_text="care, triage",
    )
    values.update(overrides)
    return RecordFeatures(**values)


def test_exact_search_matches_a_dense_product_with_and_without_masks() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(300, 16)))
    index = VectorIndex(16)
    index.set(np.arange(300), vectors)
    index.set(np.array([7]), vectors[:1])  # writing a row again replaces its vector
    vectors[7] = vectors[0]
    query = vectors[3]
    expected = np.argsort(-(vectors @ query), kind="stable")[:10]
    found = index.search(query, 10)
    assert found.rows.tolist() == expected.tolist() and not found.approximate
    np.testing.assert_allclose(found.similarities, (vectors @ query)[expected], rtol=1e-5)
    for keep_every in (2, 50):  # a broad mask (full product) and a selective one (gathered rows)
        mask = np.zeros(300, dtype=bool)
        mask[::keep_every] = True
        sims = np.where(mask, vectors @ query, -np.inf)
        expected = [int(i) for i in np.argsort(-sims, kind="stable")[:5] if mask[i]]
        assert index.search(query, 5, mask).rows.tolist() == expected


def test_empty_index_and_empty_mask_give_nothing() -> None:
    assert len(VectorIndex(4).search(np.ones(4, dtype=np.float32), 5).rows) == 0
    index = VectorIndex(4)
    index.set(np.arange(3), _unit(np.eye(4)[:3]))
    assert len(index.search(np.ones(4, dtype=np.float32), 5, np.zeros(3, dtype=bool)).rows) == 0


def test_a_mask_read_before_a_concurrent_append_searches_the_rows_it_covers() -> None:
    """A search reads the columns (the mask) first; rows appended by a writer after that are not searched
    (they are not in the caller's columns), rather than failing the request on a length mismatch."""
    rng = np.random.default_rng(1)
    vectors = _unit(rng.normal(size=(200, 8)))
    index = VectorIndex(8, ann_min_rows=128)
    index.set(np.arange(200), vectors)
    index.maintain()
    assert index.approximate
    mask = np.ones(150, dtype=bool)  # the columns had 150 rows when the caller read them
    for exact_subset_max_rows in (10**6, 0):  # exact search, then the IVF
        index.exact_subset_max_rows = exact_subset_max_rows
        found = index.search(vectors[175], 5, mask)
        assert found.rows.tolist() == np.argsort(-(vectors[:150] @ vectors[175]), kind="stable")[:5].tolist()


def test_ivf_recall_against_exact_and_masks_pushed_into_the_search() -> None:
    rng = np.random.default_rng(1)
    centers = _unit(rng.normal(size=(40, 32)))
    vectors = _unit(centers[rng.integers(0, 40, size=6000)] + 0.12 * rng.normal(size=(6000, 32)))
    index = VectorIndex(32, ann_min_rows=1000, nprobe=16, exact_subset_max_rows=500)
    index.set(np.arange(6000), vectors)
    index.maintain()
    assert index.approximate
    queries = _unit(centers[:20] + 0.12 * rng.normal(size=(20, 32)))
    recalls = []
    mask = np.zeros(6000, dtype=bool)
    mask[rng.choice(6000, size=3000, replace=False)] = True
    for query in queries:
        exact = set(np.argsort(-np.where(mask, vectors @ query, -np.inf))[:50].tolist())
        found = index.search(query, 50, mask)
        assert found.approximate and mask[found.rows].all()  # the filter never leaks
        recalls.append(len(exact & set(found.rows.tolist())) / 50)
        np.testing.assert_allclose(found.similarities, vectors[found.rows] @ query, rtol=1e-5)  # refined
    assert np.mean(recalls) >= 0.9
    # A filter too selective for the probed lists is answered exactly rather than starved.
    rare = np.zeros(6000, dtype=bool)
    rare[rng.choice(6000, size=600, replace=False)] = True
    found = index.search(queries[0], 300, rare)
    assert len(found.rows) == 300 and rare[found.rows].all()
    # Later writes reach the IVF index: a new row equal to the query is found first.
    index.set(np.array([6000]), queries[:1])
    assert index.search(queries[0], 1).rows.tolist() == [6000]


def test_a_mask_allowing_every_row_searches_as_no_mask() -> None:
    rng = np.random.default_rng(4)
    vectors = _unit(rng.normal(size=(3000, 16)))
    index = VectorIndex(16, ann_min_rows=1000, exact_subset_max_rows=100)
    index.set(np.arange(3000), vectors)
    index.maintain()
    assert index.approximate and index._ann.nlist == ivf_lists(3000) == 109
    query = vectors[7]
    plain, masked = index.search(query, 40), index.search(query, 40, np.ones(3000, dtype=bool))
    assert plain.rows.tolist() == masked.rows.tolist() and plain.rows[0] == 7
    np.testing.assert_array_equal(plain.similarities, masked.similarities)


def test_ivf_lists_grow_with_the_square_root_of_the_rows_within_bounds() -> None:
    assert [ivf_lists(n) for n in (100, 50_000, 1_000_000, 10**10)] == [64, 447, 2000, 16_384]


def test_ivf_built_in_the_background_keeps_the_writes_made_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    vectors = _unit(rng.normal(size=(3000, 16)))
    edited, added = _unit(rng.normal(size=(2, 16)))
    index = VectorIndex(16, ann_min_rows=2000, exact_subset_max_rows=100)  # searches use the IVF once built
    index.set(np.arange(3000), vectors)
    started, written = threading.Event(), threading.Event()
    real_rng = np.random.default_rng

    def paused_rng(seed: int) -> np.random.Generator:  # the build has taken its snapshot: hold it here
        started.set()
        written.wait(timeout=60)
        return real_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", paused_rng)
    build = index.maintain(background=True)
    assert build is not None and started.wait(timeout=60)
    assert not index.approximate and index.search(vectors[9], 1).rows.tolist() == [9]  # exact meanwhile
    index.set(np.array([5]), edited[None, :])
    index.set(np.array([3000]), added[None, :])
    assert index.maintain(background=True) is None  # one build at a time
    written.set()
    build.join(timeout=120)
    assert index.approximate
    for query, row in ((edited, 5), (added, 3000), (vectors[9], 9)):
        found = index.search(query, 1)
        assert found.approximate and found.rows.tolist() == [row]


def test_vector_index_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vectors = _unit(rng.normal(size=(2000, 8)))
    index = VectorIndex(8, revision=7, ann_min_rows=500)
    index.set(np.arange(2000), vectors)
    index.maintain()
    meta = index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, {"revision": 7, **meta}, 8, ann_min_rows=500)
    assert loaded.revision == 7 and len(loaded) == 2000 and loaded.approximate
    assert isinstance(loaded.matrix, np.memmap) and len(loaded.matrix) > 2000  # mapped, with room to grow
    query = vectors[11]
    assert loaded.search(query, 5).rows.tolist() == index.search(query, 5).rows.tolist()


def _views(dim: int) -> np.ndarray:
    """Side views of one record: a title and a skills vector, no experience text."""
    views = np.zeros((len(SIDE_VIEWS), dim), dtype=np.float32)
    views[:2] = _unit(np.ones((1, dim)))[0]
    return views


def test_columns_refuse_views_of_the_wrong_shape() -> None:
    columns = FeatureColumns(8)
    with pytest.raises(ValueError, match="views"):
        columns.upsert(1, 0, 0, _features(), np.zeros((2, 8), dtype=np.float32))
    assert len(columns) == 0 and columns.row_of(1) is None  # refused before anything was written


def test_int8_views_keep_cosine() -> None:
    rng = np.random.default_rng(3)
    a, b = _unit(rng.normal(size=(2, 384)))
    codes, scales = quantize_rows(np.stack([b, np.zeros_like(b)]))
    assert codes.dtype == np.int8 and abs(float(a @ codes[0].astype(np.float32)) * scales[0] - float(a @ b)) < 0.01
    assert scales[1] == 0.0 and not codes[1].any()  # an empty view stays empty


def test_columns_upsert_edit_archive_and_persist(tmp_path: Path) -> None:
    columns = FeatureColumns(8, capacity=2)  # small, so writes must grow the arrays
    views = _views(8)
    for record_id in range(5):
        columns.upsert(
            record_id + 100,
            record_id,
            record_id,
            _features(years=float(record_id)),
            views,
            tags=(("city", "Paris" if record_id % 2 else "Rome"),),
        )
    columns.upsert(102, 2, 9, _features(skill_ids=[9], skill_weights=[1.0]), views, tags=(("city", "Oslo"),))
    columns.set_alive(103, False)
    snapshot = columns.snapshot()
    assert snapshot.rows == 5 and columns.row_of(102) == 2
    row = 2
    start, count = snapshot.skill_start[row], snapshot.skill_count[row]
    assert snapshot.skill_ids[start : start + count].tolist() == [9] and snapshot.updated_at_us[row] == 9
    paris = ((TagClause("city", "Paris"),),)
    assert np.flatnonzero(row_mask(snapshot, RowFilter(tags_included=paris))).tolist() == [1]  # 3 is archived
    oslo_or_rome = ((TagClause("city", "Oslo"), TagClause("city", "Rome")),)
    assert np.flatnonzero(row_mask(snapshot, RowFilter(tags_included=oslo_or_rome))).tolist() == [0, 2, 4]
    assert np.flatnonzero(row_mask(snapshot, RowFilter(tags_excluded=((TagClause("city"),),)))).tolist() == []
    assert np.flatnonzero(row_mask(snapshot, RowFilter(created_at_min_us=2, created_at_max_us=4))).tolist() == [2, 4]
    assert np.flatnonzero(row_mask(snapshot, RowFilter(record_ids=np.array([100, 104])))).tolist() == [0, 4]
    meta = columns.save(tmp_path / "columns")
    loaded = FeatureColumns.load(tmp_path / "columns", 8, meta).snapshot()
    assert isinstance(loaded.experience, np.memmap)
    for name in ("record_ids", "alive", "years", "skill_count", "title_scale", "experience", "lat"):
        np.testing.assert_array_equal(getattr(loaded, name)[:5], getattr(snapshot, name)[:5])
    start, count = loaded.skill_start[row], loaded.skill_count[row]
    assert loaded.skill_ids[start : start + count].tolist() == [9]  # compacted, still right
    assert np.flatnonzero(row_mask(loaded, RowFilter(tags_included=paris))).tolist() == [1]


def test_bm25_mean_length_follows_every_write() -> None:
    columns = FeatureColumns(8)
    views = _views(8)
    for record_id, length in ((1, 10), (2, 30)):
        columns.upsert(record_id, 0, 0, _features(length=length), views)
    assert columns.snapshot().mean_length == 20.0
    columns.upsert(2, 0, 0, _features(length=50), views)  # an edit changes the average
    assert columns.snapshot().mean_length == 30.0
    ids = np.array([3, 4])
    columns.append(
        ids,
        np.zeros(2, dtype=np.int64),
        np.zeros(2, dtype=np.int64),
        [_features(length=60), _features(length=80)],
        np.stack([views] * 2),
    )
    assert columns.snapshot().mean_length == 50.0


def test_geo_filter_keeps_rows_within_the_radius() -> None:
    columns = FeatureColumns(4)
    places = [(48.8566, 2.3522), (48.80, 2.13), (45.764, 4.8357), (None, None)]  # Paris, Versailles, Lyon, ?
    for record_id, (lat, lng) in enumerate(places):
        columns.upsert(record_id, 0, 0, _features(lat=lat, lng=lng), _views(4))
    near_paris = RowFilter(geo=GeoFilter(48.8566, 2.3522, 30.0))
    assert np.flatnonzero(row_mask(columns.snapshot(), near_paris)).tolist() == [0, 1]
    france = RowFilter(geo=GeoFilter(48.8566, 2.3522, 500.0))
    assert np.flatnonzero(row_mask(columns.snapshot(), france)).tolist() == [0, 1, 2]


def _workspace_with_profiles(workspace: Workspace, texts: list[str]) -> str:
    source = workspace.pools.create(PROFILE, PoolCreate(name="pool")).key
    workspace.records.index(PROFILE, source, [Profile(text=text) for text in texts])
    return source


def _registry(workspace: Workspace, directory: Path | None) -> IndexRegistry:
    return IndexRegistry(workspace.store, directory, workspace.registry.model, workspace.encoder.dimension)


def _reopened(workspace: Workspace, directory: Path | None, source: str) -> PoolIndex:
    """The pool's index as a restarted server gets it: a new registry, through the record service."""
    records = workspace.records
    fresh = RecordService(
        records.store,
        records.pools,
        records.encoder,
        _registry(workspace, directory),
        records.extractor,
        records.embed_max_chars,
    )
    return fresh.pool_index(source)


def test_stale_index_file_is_rebuilt_from_the_store(workspace: Workspace, tmp_path: Path) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    workspace.registry.save_all()
    # A write the file never saw (as after a crash): the revision check must catch it.
    workspace.records.index(PROFILE, source, [Profile(text="icu nurse")])
    assert len(_reopened(workspace, tmp_path / "indexes", source).vectors) == 3


def test_current_index_file_is_loaded_not_rebuilt(workspace: Workspace, tmp_path: Path) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    _reopened(workspace, tmp_path / "indexes", source)
    index, stale = _registry(workspace, tmp_path / "indexes").open(source)
    assert isinstance(index, PoolIndex) and len(index.vectors) == 2 and len(index.columns) == 2
    assert index.revision == workspace.store.pools.pool_revision(source) and stale == []


def test_vectors_from_another_model_are_recomputed(workspace: Workspace) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    ids = [row.id for row in workspace.store.records.index_rows(source)]
    workspace.store.records.replace_embeddings(source, "retired-model", {i: (np.zeros(384), b"") for i in ids})
    registry = _registry(workspace, None)
    _, stale = registry.open(source)
    assert sorted(row.id for row in stale) == sorted(ids)  # reported, not recomputed by the index layer
    assert {row.model for row in workspace.store.records.index_rows(source)} == {"retired-model"}
    index = _reopened(workspace, None, source)
    assert {row.model for row in workspace.store.records.index_rows(source)} == {vectors_tag(workspace.encoder.name)}
    query = workspace.encoder.embed_documents(["python developer"])[0]
    assert index.vectors.search(query, 1).similarities[0] > 0.99  # real vectors again, not the zeros
    assert index.columns.snapshot().title_scale[:2].tolist() == [0.0, 0.0]  # text-only profiles: no title


def test_vectors_read_whole_by_an_older_release_are_recomputed(workspace: Workspace) -> None:
    """Releases before views were read as their heads labelled vectors with the bare model name."""
    long_resume = "Pastry chef. " + "Laminated doughs, croissants and entremets for a hotel. " * 60
    source = _workspace_with_profiles(workspace, [long_resume])
    [row] = workspace.store.records.index_rows(source)
    whole = workspace.encoder.embed_documents([long_resume] * len(VIEWS))  # every view read whole
    workspace.store.records.replace_embeddings(source, workspace.encoder.name, {row.id: (whole, row.features)})
    _, stale = _registry(workspace, None).open(source)
    assert [r.id for r in stale] == [row.id]
    index = _reopened(workspace, None, source)
    [again] = workspace.store.records.index_rows(source)
    assert again.model == vectors_tag(workspace.encoder.name)
    head = head_of(workspace.encoder, long_resume, PROFILE_HEAD_TOKENS)
    assert head != long_resume
    head_vector = workspace.encoder.embed_documents([head])[0]
    np.testing.assert_allclose(index.vectors.search(head_vector, 1).similarities[0], 1.0, atol=1e-4)


def test_archived_records_are_masked_and_restored_without_recomputing(workspace: Workspace) -> None:
    source = _workspace_with_profiles(workspace, ["python developer", "pastry chef"])
    [chef] = [row for row in workspace.store.records.index_rows(source) if b"pastry" in row.body]
    key = workspace.store.records.load_records([chef.id])[0].key
    from cerebro_serve.services.queries import RecordLookup

    workspace.records.archive(PROFILE, source, RecordLookup(key=key), True)
    snapshot = workspace.records.pool_index(source).columns.snapshot()
    assert row_mask(snapshot, RowFilter()).tolist() == [True, False]
    rebuilt = _reopened(workspace, None, source).columns.snapshot()
    assert rebuilt.rows == 2 and rebuilt.alive[:2].tolist() == [True, False]
    workspace.records.archive(PROFILE, source, RecordLookup(key=key), False)
    assert workspace.records.pool_index(source).columns.snapshot().alive[:2].tolist() == [True, True]


def test_concurrent_writes_all_land_in_store_and_index(workspace: Workspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    source = workspace.pools.create(PROFILE, PoolCreate(name="busy")).key
    texts = [f"candidate number {i} with python and sql" for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda text: workspace.records.index(PROFILE, source, [Profile(text=text)]), texts))
    index = workspace.records.pool_index(source)
    stored_ids = sorted(row.id for row in workspace.store.records.index_rows(source))
    snapshot = index.columns.snapshot()
    assert sorted(snapshot.record_ids[: snapshot.rows].tolist()) == stored_ids and len(stored_ids) == 24
    assert len(index.vectors) == 24 and index.revision == workspace.store.pools.pool_revision(source)
