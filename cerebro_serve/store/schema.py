"""Tables and the ordered migrations that create and evolve them on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cerebro_serve.store.text_search import create_search_index, create_section_search_index

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for large pools.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

pools = sa.Table(
    "pools",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    # Bumped in the same transaction as every record write: a persisted index whose revision
    # differs from this one is stale and gets rebuilt from the store.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("pool_key", sa.String(40), sa.ForeignKey("pools.key"), nullable=False),
    sa.Column("reference", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("archived_at_us", sa.BigInteger),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    # float32 rows, one per view (full text, title, skills, experience); see engine/views.py
    sa.Column("embedding", sa.LargeBinary, nullable=False),
    # the re-ranker's features (record_features.py RecordFeatures, msgpack); NULL until computed
    sa.Column("features", sa.LargeBinary),
    # The pool revision of the record's last write: what a process holding the pool's index reads to
    # catch up with writes made by other processes (`RecordStore.changes_since`).
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
    # The version of the facets written with the record (store/records.py FACETS_VERSION; 0: none yet).
    sa.Column("facets_version", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("pool_key", "reference", name="uq_records_pool_reference"),
    sa.Index("ix_records_pool_live", "pool_key", "archived_at_us", "created_at_us"),
    sa.Index("ix_records_pool_email", "pool_key", "email"),
    sa.Index("ix_records_pool_revision", "pool_key", "revision"),
)

# Records erased, by internal id only (no key, no content): other processes' indexes drop their rows.
record_erasures = sa.Table(
    "record_erasures",
    metadata,
    sa.Column("pool_key", sa.String(40), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Index("ix_record_erasures_pool_revision", "pool_key", "revision"),
)

record_tags = sa.Table(
    "record_tags",
    metadata,
    sa.Column("record_id", Id, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Index("ix_record_tags_name_value", "name", "value"),
    sa.Index("ix_record_tags_record", "record_id"),
)

# The casefolded text of a record's summary, experiences and educations, for the keyword filters of
# each (a trigram index over `text`, store/text_search.py).
record_sections = sa.Table(
    "record_sections",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("record_id", Id, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("section", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Index("ix_record_sections_record", "record_id"),
)

# Facts filters read of a record (store/records.py Facet): interests, named ranges, years of education,
# places of experiences and educations.
record_facets = sa.Table(
    "record_facets",
    metadata,
    sa.Column("record_id", Id, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("low", sa.Float),
    sa.Column("high", sa.Float),
    sa.Index("ix_record_facets_kind_name_low", "kind", "name", "low"),
    sa.Index("ix_record_facets_record", "record_id"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("permission", sa.String(8), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)


parsing_jobs = sa.Table(
    "parsing_jobs",
    metadata,
    # The key of the profile the file will become, reserved when the file is accepted.
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("source_key", sa.String(40), nullable=False),
    sa.Column("reference", sa.Text),
    sa.Column("status", sa.String(12), nullable=False),  # queued, running, succeeded, failed
    sa.Column("request", sa.LargeBinary),  # the file and its fields; dropped once parsed
    sa.Column("error", sa.Text),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    # When a worker took the job: a running job whose claim is older than the lease is taken again.
    sa.Column("claimed_at_us", sa.BigInteger),
    sa.Index("ix_parsing_jobs_status", "status", "created_at_us"),
    sa.Index("ix_parsing_jobs_reference", "source_key", "reference"),
)


algorithms = sa.Table(
    "algorithms",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("base", sa.String(64), nullable=False),  # a marketplace algorithm (scoring/marketplace.py)
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("labeller_role", sa.String(16), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("goals", sa.Text),  # JSON: the conversion goals (tracking actions in journey order)
    sa.Column("active_version", sa.Integer, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("live_learning", sa.Text),  # JSON: when to retrain by itself (services/queries.py LiveLearning)
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

algorithm_versions = sa.Table(
    "algorithm_versions",
    metadata,
    sa.Column("algorithm_key", sa.String(40), sa.ForeignKey("algorithms.key"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("model", sa.Text, nullable=False),  # JSON: the fusion (scoring/algorithms.py Algorithm)
    sa.Column("metrics", sa.Text),  # JSON: train and validation metrics (training/metrics.py)
    sa.Column("training_key", sa.String(40)),  # the training that produced it; NULL for the fork's copy
    # JSON (services/release_gate.py Review): the release gate's verdict, and an admin's release of a held
    # version; NULL for versions that never went through the gate.
    sa.Column("review", sa.Text),
    sa.PrimaryKeyConstraint("algorithm_key", "version"),
)

# Ratings and trackings (HrFlow's Signal API): one table, `kind` says which.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),  # rating, tracking
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("score", sa.Float),  # ratings: 0..1
    sa.Column("action", sa.Text),  # trackings: the stage reached
    sa.Column("source_key", sa.String(40), nullable=False),
    # NULL once the profile is erased: its events stay, anonymous, for aggregate counts (record_store.py).
    sa.Column("profile_id", Id, sa.ForeignKey("records.id")),
    sa.Column("board_key", sa.String(40), nullable=False),
    sa.Column("job_id", Id, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("author_email", sa.Text),
    sa.Column("comment", sa.Text),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    # The same event sent twice (a bulk import resumed after an interruption) is stored once.
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Index("ix_feedback_kind_created", "kind", "role", "created_at_us"),
    sa.Index("ix_feedback_profile", "profile_id"),
    sa.Index("ix_feedback_job", "job_id"),
)


trainings = sa.Table(
    "trainings",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("algorithm_key", sa.String(40), sa.ForeignKey("algorithms.key"), nullable=False),
    # queued, running, succeeded, held_for_review (services/release_gate.py), failed, cancelled
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON: mode, pools, dates
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("log", sa.Text),  # JSON: the data workflow's steps with their counts
    sa.Column("version", sa.Integer),  # the version it published
    sa.Column("error", sa.Text),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    # The newest feedback id when it was queued: live learning counts new feedback from there.
    sa.Column("feedback_watermark", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("trigger", sa.String(12), nullable=False, server_default="api"),  # api, threshold, schedule
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_trainings_status", "status", "created_at_us"),
)


# Which algorithm version answered each scoring call (written in batches, off the request path).
scoring_calls = sa.Table(
    "scoring_calls",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("algorithm_key", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("endpoint", sa.String(32), nullable=False),  # profiles/scoring, jobs/scoring
    sa.Column("anchor_key", sa.String(40), nullable=False),  # the job (or profile) scored against
    sa.Column("returned", sa.Integer, nullable=False),  # results on the page
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_scoring_calls_algorithm", "algorithm_key", "version"),
)


# The audit trail: one row a request, append-only, each row carrying the hash of the one before it.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # JSON (store/audit.py AuditEvent), as hashed
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_events_at", "at_us"),
)


# Algorithms an admin stopped (the kill switch), marketplace bases and forks alike: a row while stopped.
algorithm_stops = sa.Table(
    "algorithm_stops",
    metadata,
    sa.Column("algorithm_key", sa.String(64), primary_key=True),
    sa.Column("fallback", sa.String(8), nullable=False),  # default: the workspace default answers; fail
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(16)),  # who: the admin key's digest, as the audit trail names it
    sa.Column("user", sa.String(40)),  # who: the keyed hash of X-USER-EMAIL, as the audit trail keeps it
    sa.Column("stopped_at_us", sa.BigInteger, nullable=False),
)


# Protected attributes (services/fairness.py): supplied apart from the profile, read only by fairness audits;
# a profile's row goes with it (erasure).
fairness_attributes = sa.Table(
    "fairness_attributes",
    metadata,
    sa.Column("record_id", Id, sa.ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("source_key", sa.String(40), nullable=False),
    sa.Column("gender", sa.String(64)),
    sa.Column("ethnicity", sa.String(128)),
    sa.Column("age_band", sa.String(8)),
    sa.Column("location", sa.String(128)),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_fairness_attributes_source", "source_key"),
)

# Fairness audits of an algorithm version: a queue like `trainings`, the report kept as JSON.
fairness_audits = sa.Table(
    "fairness_audits",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("algorithm_key", sa.String(64), nullable=False),  # a fork or a marketplace base
    sa.Column("version", sa.Integer),  # NULL for a marketplace base (one version)
    sa.Column("status", sa.String(12), nullable=False),  # queued, running, succeeded, failed, cancelled
    sa.Column("request", sa.Text, nullable=False),  # JSON: the pools audited
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("report", sa.Text),  # JSON (services/fairness.py AuditReport)
    sa.Column("error", sa.Text),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_fairness_audits_status", "status", "created_at_us"),
)


# Copilots (services/copilots.py): a Talent or Recruiter Copilot's pools, algorithm, design and embedding
# origins as JSON; `generation` is part of every URL and token signed for it, so raising it revokes them all.
copilots = sa.Table(
    "copilots",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("type", sa.String(10), nullable=False),  # talent or recruiter
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # JSON: pools, algorithm, design, allowed origins
    sa.Column("generation", sa.Integer, nullable=False, server_default="1"),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)


def _create_initial_tables(connection: Connection) -> None:
    for table in (pools, records, record_tags, api_keys):
        table.create(connection, checkfirst=True)


def _create_parsing_jobs(connection: Connection) -> None:
    parsing_jobs.create(connection, checkfirst=True)


def _add_record_features(connection: Connection) -> None:
    # Stores created after this column joined the table already have it (migration 1 creates the table).
    if "features" not in {column["name"] for column in sa.inspect(connection).get_columns("records")}:
        blob = "BYTEA" if connection.dialect.name == "postgresql" else "BLOB"
        connection.execute(sa.text(f"ALTER TABLE records ADD COLUMN features {blob}"))


def _create_learning_tables(connection: Connection) -> None:
    for table in (algorithms, algorithm_versions, feedback, trainings, scoring_calls):
        table.create(connection, checkfirst=True)


def _create_audit_events(connection: Connection) -> None:
    audit_events.create(connection, checkfirst=True)


def _add_release_gate(connection: Connection) -> None:
    """A version's review, and room for a training's `held_for_review` (SQLite does not enforce lengths)."""
    if "review" not in {column["name"] for column in sa.inspect(connection).get_columns("algorithm_versions")}:
        connection.execute(sa.text("ALTER TABLE algorithm_versions ADD COLUMN review TEXT"))
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("ALTER TABLE trainings ALTER COLUMN status TYPE VARCHAR(20)"))


def _create_copilots(connection: Connection) -> None:
    copilots.create(connection, checkfirst=True)


def _create_algorithm_stops(connection: Connection) -> None:
    algorithm_stops.create(connection, checkfirst=True)


def _create_fairness_tables(connection: Connection) -> None:
    for table in (fairness_attributes, fairness_audits):
        table.create(connection, checkfirst=True)


def _let_feedback_outlive_its_profile(connection: Connection) -> None:
    if next(c for c in sa.inspect(connection).get_columns("feedback") if c["name"] == "profile_id")["nullable"]:
        return  # created after this change
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("ALTER TABLE feedback ALTER COLUMN profile_id DROP NOT NULL"))
        return
    # SQLite drops no constraint: the rows move to a table made from the stored definition less that NOT
    # NULL, and the indexes are made again (sqlite.org/lang_altertable.html, "other kinds of changes").
    master = "SELECT sql FROM sqlite_master WHERE tbl_name = 'feedback' AND type = ? AND sql IS NOT NULL"
    [definition] = connection.exec_driver_sql(master, ("table",)).scalars().all()
    indexes = connection.exec_driver_sql(master, ("index",)).scalars().all()
    definition = re.sub(r"(\bprofile_id\s+\w+)\s+NOT NULL", r"\1", definition, count=1)
    connection.exec_driver_sql(re.sub(r"^CREATE TABLE\s+\"?feedback\"?", "CREATE TABLE feedback_rebuilt", definition))
    connection.exec_driver_sql("INSERT INTO feedback_rebuilt SELECT * FROM feedback")
    connection.exec_driver_sql("DROP TABLE feedback")
    connection.exec_driver_sql("ALTER TABLE feedback_rebuilt RENAME TO feedback")
    for index in indexes:
        connection.exec_driver_sql(index)


def _add_record_revisions(connection: Connection) -> None:
    """Each record's last write revision, and erasures by id: indexes in several processes catch up."""
    if "revision" not in {column["name"] for column in sa.inspect(connection).get_columns("records")}:
        connection.execute(sa.text("ALTER TABLE records ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"))
        # Plain DDL: an sa.Index built on `records.c` would join the table's metadata, and every store
        # created later in this process would then make that index twice.
        connection.execute(sa.text("CREATE INDEX ix_records_pool_revision ON records (pool_key, revision)"))
    record_erasures.create(connection, checkfirst=True)


def _add_record_facets(connection: Connection) -> None:
    """Sections and facets for the filters that read them; existing records get theirs when their pool
    opens (their `facets_version` is 0)."""
    if "facets_version" not in {column["name"] for column in sa.inspect(connection).get_columns("records")}:
        connection.execute(sa.text("ALTER TABLE records ADD COLUMN facets_version INTEGER NOT NULL DEFAULT 0"))
    for table in (record_sections, record_facets):
        table.create(connection, checkfirst=True)
    create_section_search_index(connection)


# Append-only: a released migration never changes; the store runs those it has not recorded yet.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _create_initial_tables,
    _create_parsing_jobs,
    _add_record_features,
    _create_learning_tables,
    _create_audit_events,
    _let_feedback_outlive_its_profile,
    _create_algorithm_stops,
    _create_fairness_tables,
    _add_release_gate,
    _create_copilots,
    _add_record_revisions,
    create_search_index,
    _add_record_facets,
)


class NewerSchema(ValueError):
    """The store was migrated by a newer release: this one does not know its tables, so it must not serve it."""


def migrate(connection: Connection) -> int:
    """Bring the schema up to date inside the caller's transaction; returns the resulting version. A store
    a newer release migrated is refused (NewerSchema), untouched."""
    schema_version.create(connection, checkfirst=True)
    current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
    if current > len(MIGRATIONS):
        raise NewerSchema(
            f"the store's schema is version {current}, newer than this release knows ({len(MIGRATIONS)}): a newer "
            "Cerebro Serve migrated it. Run that release (or a later one), or restore a backup taken before it."
        )
    for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
        step(connection)
        connection.execute(schema_version.insert().values(version=version))
    return len(MIGRATIONS)
