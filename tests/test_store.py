"""The store suite, run on SQLite and on PostgreSQL (see the `store_url` fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from cerebro_serve.store import RecordContent, RecordFilter, SqlStore
from cerebro_serve.store.record_store import DuplicateReference
from cerebro_serve.store.schema import MIGRATIONS

SOURCE = "a" * 40
OTHER_SOURCE = "b" * 40


def _content(
    text: str, *, created: int = 1, tags=(), reference: str | None = None, email: str | None = None
) -> RecordContent:
    return RecordContent(
        reference=reference,
        email=email,
        name="name",
        search_text=text,
        body=b'{"text": "%s"}' % text.encode(),
        model="test-model",
        embedding=np.full(4, float(created), dtype=np.float32),
        features=b"features",
        tags=tuple(tags),
    )


def _insert(
    store: SqlStore,
    key: str,
    *,
    pool: str = SOURCE,
    reference: str | None = None,
    created: int = 1,
    text: str = "python developer",
    tags=(),
    email: str | None = None,
) -> int:
    content = _content(text, created=created, tags=tags, reference=reference, email=email)
    record_id, _ = store.records.insert_record(
        kind="profile", key=key, pool_key=pool, created_at_us=created, content=content
    )
    return record_id


@pytest.fixture
def pooled(store: SqlStore) -> SqlStore:
    store.pools.create_pool("source", SOURCE, "Main", "main source")
    store.pools.create_pool("source", OTHER_SOURCE, "Other", None)
    return store


def test_pools_are_created_listed_and_found(pooled: SqlStore) -> None:
    assert pooled.pools.get_pool("source", SOURCE).name == "Main"
    _insert(pooled, "1" * 40)
    assert pooled.pools.get_pool("source", SOURCE, with_size=True).size == 1
    assert pooled.pools.get_pool("board", SOURCE) is None
    pools, total = pooled.pools.list_pools("source", None, 0, 10, descending=False)
    assert total == 2 and [p.name for p in pools] == ["Main", "Other"]
    pools, total = pooled.pools.list_pools("source", "oth", 0, 10, descending=True)
    assert total == 1 and pools[0].key == OTHER_SOURCE


def test_record_round_trip_by_key_reference_and_email(pooled: SqlStore) -> None:
    record_id = _insert(pooled, "1" * 40, reference="ref-1", email="ada@example.com")
    by_key = pooled.records.find_record("profile", SOURCE, key="1" * 40)
    assert by_key is not None and by_key.id == record_id and by_key.body == b'{"text": "python developer"}'
    assert pooled.records.find_record("profile", SOURCE, reference="ref-1").id == record_id
    assert pooled.records.find_record("profile", SOURCE, email="ADA@example.com").id == record_id
    assert pooled.records.find_record("profile", OTHER_SOURCE, key="1" * 40) is None
    assert pooled.records.find_record("job", SOURCE, key="1" * 40) is None


def test_duplicate_reference_in_a_pool_is_refused_but_allowed_across_pools(pooled: SqlStore) -> None:
    _insert(pooled, "1" * 40, reference="ref")
    with pytest.raises(DuplicateReference):
        _insert(pooled, "2" * 40, reference="ref")
    _insert(pooled, "3" * 40, reference="ref", pool=OTHER_SOURCE)
    # Records without a reference never collide.
    _insert(pooled, "4" * 40)
    _insert(pooled, "5" * 40)
    assert len(pooled.records.filter_records("profile", [SOURCE], RecordFilter())) == 3


def test_every_write_bumps_the_pool_revision(pooled: SqlStore) -> None:
    assert pooled.pools.pool_revision(SOURCE) == 0
    record_id = _insert(pooled, "1" * 40)
    assert pooled.pools.pool_revision(SOURCE) == 1
    pooled.records.set_archived(record_id, SOURCE, 5, b"{}")
    assert pooled.pools.pool_revision(SOURCE) == 2
    assert pooled.pools.pool_revision(OTHER_SOURCE) == 0


def test_filters_by_dates_keywords_and_archive(pooled: SqlStore) -> None:
    old = _insert(pooled, "1" * 40, created=100, text="senior python engineer, 100% remote")
    new = _insert(pooled, "2" * 40, created=200, text="registered nurse")
    archived = _insert(pooled, "3" * 40, created=150, text="python analyst")
    pooled.records.set_archived(archived, SOURCE, 300, b"{}")

    def ids(**kwargs) -> list[int]:
        return pooled.records.filter_records("profile", [SOURCE], RecordFilter(**kwargs)).ids.tolist()

    assert ids() == [old, new]
    assert ids(created_at_min_us=150) == [new]
    assert ids(created_at_max_us=150) == [old]
    assert ids(text_keywords=("python",)) == [old]
    assert ids(text_keywords=("python", "remote")) == [old]
    assert ids(text_keywords=("python", "nurse")) == []
    # LIKE wildcards in keywords are matched literally.
    assert ids(text_keywords=("100%",)) == [old]
    assert ids(text_keywords=("1_0",)) == []
    candidates = pooled.records.filter_records("profile", [SOURCE], RecordFilter())
    assert candidates.created_at_us.tolist() == [100, 200]


def test_keyword_filters_come_from_the_trigram_index_and_follow_edits_and_erasures(pooled: SqlStore) -> None:
    """Substrings, as the scan found them, from the index (FTS5 on SQLite, pg_trgm on PostgreSQL), which
    follows a record's edits and its erasure; keywords too short for trigrams still match, by scan."""
    nurse = _insert(pooled, "1" * 40, text='registered nurse, "night shifts" in lyon')
    developer = _insert(pooled, "2" * 40, text="python developer in paris")

    def ids(*keywords: str) -> list[int]:
        found = pooled.records.filter_records("profile", [SOURCE], RecordFilter(text_keywords=keywords))
        return found.ids.tolist()

    assert ids("gistered nur") == [nurse] and ids("pyth", "paris") == [developer] and ids("ly") == [nurse]
    assert ids('"night shifts"') == [nurse] and ids('night" shifts') == []  # quotes are text, not syntax
    pooled.records.update_record(nurse, SOURCE, 5, _content("icu nurse in marseille"))
    assert ids("lyon") == [] and ids("marseille") == [nurse]
    pooled.records.erase_record(developer, SOURCE)
    assert ids("python") == [] and ids("in ") == [nurse]
    if pooled.engine.dialect.name == "sqlite":
        with pooled.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT count(*) FROM record_search WHERE record_search MATCH 'python'")
            assert rows.scalar() == 0  # the erased text left the index too
    else:
        with pooled.engine.connect() as connection:
            indexes = connection.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'records'")
            assert any("gin_trgm_ops" in definition for definition in indexes.scalars())


def test_filter_spans_several_pools(pooled: SqlStore) -> None:
    a = _insert(pooled, "1" * 40)
    b = _insert(pooled, "2" * 40, pool=OTHER_SOURCE)
    assert pooled.records.filter_records("profile", [SOURCE, OTHER_SOURCE], RecordFilter()).ids.tolist() == [a, b]


def test_vectors_round_trip_and_index_rows_include_archived(pooled: SqlStore) -> None:
    a = _insert(pooled, "1" * 40, created=1, tags=[("city", "Paris")])
    b = _insert(pooled, "2" * 40, created=2)
    model, raw, features = pooled.records.record_vectors(b)
    assert model == "test-model" and np.frombuffer(raw, dtype=np.float32).tolist() == [2.0] * 4
    assert features == b"features"
    pooled.records.set_archived(a, SOURCE, 10, b"{}")
    rows = list(pooled.records.index_rows(SOURCE))
    assert [(row.id, row.archived, row.tags) for row in rows] == [(a, True, (("city", "Paris"),)), (b, False, ())]
    revision = pooled.pools.pool_revision(SOURCE)
    assert (
        pooled.records.replace_embeddings(SOURCE, "other-model", {b: (np.zeros(4, dtype=np.float32), b"new")})
        > revision
    )
    model, raw, features = pooled.records.record_vectors(b)
    assert (model, features) == ("other-model", b"new") and not np.frombuffer(raw, dtype=np.float32).any()


def test_update_replaces_object_vector_and_tags(pooled: SqlStore) -> None:
    record_id = _insert(pooled, "1" * 40, tags=[("city", "Paris")])
    content = RecordContent(
        reference="new-ref",
        email=None,
        name=None,
        search_text="nurse",
        body=b"{}",
        model="m2",
        embedding=np.ones(4, dtype=np.float32),
        features=b"f2",
        tags=(("city", "Rome"),),
    )
    pooled.records.update_record(record_id, SOURCE, 99, content)
    stored = pooled.records.find_record("profile", SOURCE, reference="new-ref")
    assert stored.updated_at_us == 99 and stored.body == b"{}"
    assert [(row.id, row.tags) for row in pooled.records.index_rows(SOURCE)] == [(record_id, (("city", "Rome"),))]


def test_writes_survive_reopening_and_migrations_run_once(store_url: str) -> None:
    first = SqlStore(store_url)
    first.pools.create_pool("source", SOURCE, "Main", None)
    _insert(first, "1" * 40, reference="kept")
    first.keys.add_api_key("h" * 64, "read")
    first.close()

    second = SqlStore(store_url)
    assert second.schema_version == len(MIGRATIONS)
    assert second.records.find_record("profile", SOURCE, reference="kept") is not None
    assert second.keys.api_key_permission("h" * 64) == "read"
    assert second.keys.api_key_permission("x" * 64) is None
    second.close()


def test_load_records_keeps_the_order_asked(pooled: SqlStore) -> None:
    a = _insert(pooled, "1" * 40)
    b = _insert(pooled, "2" * 40)
    assert [r.id for r in pooled.records.load_records([b, a])] == [b, a]
    assert pooled.records.load_records([]) == []


def test_sqlite_runs_in_wal_with_full_sync(tmp_path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_parsing_jobs_are_claimed_once_and_retaken_after_the_lease(pooled: SqlStore) -> None:
    pooled.parsing_jobs.enqueue_parsing("k" * 40, SOURCE, "ref", b"payload")
    assert [job.key for job in pooled.parsing_jobs.queued_parsing(5)] == ["k" * 40]
    assert pooled.parsing_jobs.claim_parsing("k" * 40) is True
    assert pooled.parsing_jobs.claim_parsing("k" * 40) is False  # a second worker does not get it
    assert pooled.parsing_jobs.queued_parsing(5) == []
    # A worker that died holding it: once the lease is over, the job is offered again.
    assert [job.key for job in pooled.parsing_jobs.queued_parsing(5, lease_us=-1)] == ["k" * 40]
    assert pooled.parsing_jobs.claim_parsing("k" * 40, lease_us=-1) is True
    pooled.parsing_jobs.finish_parsing("k" * 40, None)
    finished = pooled.parsing_jobs.find_parsing(SOURCE, reference="ref")
    assert finished.status == "succeeded" and finished.request is None
