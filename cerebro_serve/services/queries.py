"""Typed inputs of the listing, searching and scoring use cases, with the HrFlow wire names.

The API layer decodes query strings and JSON bodies into these; the services never see raw parameters.
Unknown parameters are ignored (the SDK forwards any keyword the caller passes).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from cerebro_serve.objects import Timestamp
from cerebro_serve.scoring.marketplace import MARKETPLACE

# Pages past 10^9 (of at most 1,000) could only overflow 64-bit offsets; keywords past 50 or 256
# characters, SQLite's expression limits.
Page = Annotated[int, Meta(ge=1, le=1_000_000_000)]
Limit = Annotated[int, Meta(ge=1, le=1000)]
Key = Annotated[str, Meta(min_length=1, max_length=256)]


class Tag(Struct, kw_only=True):
    name: str
    value: Any = None


# CNF: AND over the outer list, OR inside each group; a bare tag is a group of one.
TagCnf = list[list[Tag] | Tag]


class NamedFilter(Struct, kw_only=True):
    """A skill, language or interest a record must have, by name (or a skill by `taxonomy_id`). `value`: the
    minimum level of a skill (beginner, intermediate, advanced, expert, n/5) or a language (A1 to C2,
    fluent, native), as parsing/levels.py reads both the filter and the record's own value."""

    name: Annotated[str, Meta(max_length=256)] | None = None
    taxonomy_id: Annotated[str, Meta(max_length=256)] | None = None
    value: Any = None


NamedFilters = Annotated[list[NamedFilter], Meta(max_length=50)]
Years = Annotated[float, Meta(ge=0, le=100)]


class Listing(Struct, kw_only=True):
    page: Page = 1
    limit: Limit = 30
    order_by: Literal["asc", "desc"] | None = None
    created_at_min: Timestamp | None = None
    created_at_max: Timestamp | None = None


class Geopoint(Struct, kw_only=True):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lng: Annotated[float, Meta(ge=-180, le=180)]


Distance = Annotated[float, Meta(gt=0)]


class PeriodGeopoint(Struct, kw_only=True):
    """The point of an experience or education location filter: HrFlow spells its longitude `lon` there
    (`lng` elsewhere); either is taken."""

    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    lng: Annotated[float, Meta(ge=-180, le=180)] | None = None


class FloatRange(Struct, kw_only=True):
    """Jobs with a range of this name (a salary, say) that meets [value_min, value_max] (one end may be open)."""

    name: Annotated[str, Meta(min_length=1, max_length=256)]
    value_min: float | None = None
    value_max: float | None = None


class DateRange(Struct, kw_only=True):
    """Jobs with a date range of this name (an availability, say) that meets [value_min, value_max]."""

    name: Annotated[str, Meta(min_length=1, max_length=256)]
    value_min: Timestamp | None = None
    value_max: Timestamp | None = None


Keywords = Annotated[list[Annotated[str, Meta(max_length=256)]], Meta(max_length=50)]


class Filtering(Listing, kw_only=True):
    sort_by: Literal["created_at", "updated_at", "scoring", "searching"] = "created_at"
    text_keywords: Keywords = []
    tags_included: TagCnf = []
    tags_excluded: TagCnf = []
    name: str | None = None
    # A radius around a point, in km: `location_geopoint` + `location_distance`, or the storing API's
    # spelling `location_lat` + `location_lon` + `location_dist`.
    location_geopoint: Geopoint | None = None
    location_distance: Distance | None = None
    location_lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    location_lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    location_dist: Distance | None = None
    # Years of experience (a job's: those it asks for); the legacy plural spelling too.
    experience_duration_min: Years | None = None
    experience_duration_max: Years | None = None
    experiences_duration_min: Years | None = None
    experiences_duration_max: Years | None = None
    skills: NamedFilters = []
    languages: NamedFilters = []
    interests: NamedFilters = []
    # Keywords every one of which the section holds (a profile's summary, or a job's; its experiences and
    # educations: their titles, companies or schools, descriptions).
    summary_keywords: Keywords = []
    experience_keywords: Keywords = []
    education_keywords: Keywords = []
    # Profiles with an experience (an education) within the radius, in km, of the point.
    experience_location_geopoint: PeriodGeopoint | None = None
    experience_location_distance: Distance | None = None
    education_location_geopoint: PeriodGeopoint | None = None
    education_location_distance: Distance | None = None
    # Years of education of a profile (the union of its dated educations, or its `educations_duration`).
    education_duration_min: Years | None = None
    education_duration_max: Years | None = None
    educations_duration_min: Years | None = None
    educations_duration_max: Years | None = None
    # A job's named ranges (`ranges_float`, `ranges_date` on the job), each of which must meet the one given.
    ranges_float: Annotated[list[FloatRange], Meta(max_length=20)] = []
    ranges_date: Annotated[list[DateRange], Meta(max_length=20)] = []
    # The stage a tracking last set for the pair, against the anchor (the job a profile is scored for, the
    # profile jobs are scored for), else against any; `new`: no stage set yet; empty: no filter.
    stage: Annotated[str, Meta(max_length=256)] | None = None
    # A query in the subset of Elasticsearch's DSL HrFlow documents (services/raw_filters.py).
    raw_filters: dict[str, Any] | None = None
    # Ours: with pools in shards (a cluster), rank without a shard none of whose replicas answers, and say
    # which in `meta.partial`, rather than fail the call with a 503.
    allow_partial: bool = False


class ProfilesStoringQuery(Listing, kw_only=True):
    source_keys: list[Key]
    sort_by: Literal["created_at", "updated_at"] = "created_at"
    name: str | None = None
    key: str | None = None
    reference: str | None = None
    return_profile: bool = False


class JobsStoringQuery(Listing, kw_only=True):
    board_keys: list[Key]
    sort_by: Literal["created_at", "updated_at"] = "created_at"
    name: str | None = None
    key: str | None = None
    reference: str | None = None
    return_job: bool = False


# A search sorted by relevance ranks by similarity to its keywords, so it needs some (RankingService).
RELEVANCE_NEEDS_KEYWORDS: dict[str, Any] = {
    "if": {"required": ["sort_by"], "properties": {"sort_by": {"enum": ["scoring", "searching"]}}},
    "then": {"required": ["text_keywords"], "properties": {"text_keywords": {"type": "array", "minItems": 1}}},
}


class ProfilesSearchingQuery(Filtering, kw_only=True):
    source_keys: list[Key]


class JobsSearchingQuery(Filtering, kw_only=True):
    board_keys: list[Key]


# The languages an explanation's sentences are written in (scoring/wording.py).
OutputLang = Literal["en", "fr", "es", "de"]


class Scoring(Filtering, kw_only=True):
    algorithm_key: str | None = None
    agent_key: str | None = None
    # Legacy `use_agent` and current `use_algorithm`: either set to 0 means search-only, no score.
    use_agent: bool | None = None
    use_algorithm: bool | None = None
    score_threshold: Annotated[float, Meta(ge=0, le=1)] | None = None
    # Each result's short explanation beside it (no evidence spans, no suggestions), in `output_lang`.
    explain: bool = False
    output_lang: OutputLang = "en"

    @property
    def uses_algorithm(self) -> bool:
        return self.use_agent is not False and self.use_algorithm is not False


# JSON Schema of a scoring body: explanations explain a score, so `explain` needs the algorithm on.
EXPLAIN_NEEDS_A_SCORE: dict[str, Any] = {
    "if": {"required": ["explain"], "properties": {"explain": {"const": True}}},
    "then": {
        "not": {
            "anyOf": [
                {"required": [name], "properties": {name: {"const": False}}} for name in ("use_algorithm", "use_agent")
            ]
        }
    },
}


class ProfilesScoringQuery(Scoring, kw_only=True):
    source_keys: list[Key]
    board_key: Key
    job_key: str | None = None
    job_reference: str | None = None
    # Ours: after the scored profiles, those whose consent refuses scoring, for manual review (no score).
    include_manual: bool = False


class JobsScoringQuery(Scoring, kw_only=True):
    board_keys: list[Key]
    source_key: Key
    profile_key: str | None = None
    profile_reference: str | None = None


class PairQuery(Struct, kw_only=True):
    """One profile and one job, each by key or reference (`profile/grading`, `job/grading`)."""

    source_key: Key
    board_key: Key
    profile_key: Key | None = None
    profile_reference: Key | None = None
    job_key: Key | None = None
    job_reference: Key | None = None
    algorithm_key: Key | None = None  # default: as in scoring (the workspace default, else cerebro-base)
    output_lang: OutputLang = "en"


class UpskillingQuery(PairQuery, kw_only=True):
    """`profile/upskilling`, `job/upskilling`. `score`: the score the caller was shown (HrFlow's SDK sends
    it); the explanation is of the score computed now, and `meta.score_given` echoes it."""

    score: Annotated[float, Meta(gt=0, lt=1)] | None = None


class ProfilesMatchingQuery(Filtering, kw_only=True):
    """Profiles like a given profile; `source_keys` defaults to the profile's own source."""

    source_key: Key
    profile_key: str | None = None
    profile_reference: str | None = None
    source_keys: list[Key] | None = None
    score_threshold: Annotated[float, Meta(ge=0, le=1)] | None = None


class JobsMatchingQuery(Filtering, kw_only=True):
    """Jobs like a given job; `board_keys` defaults to the job's own board."""

    board_key: Key
    job_key: str | None = None
    job_reference: str | None = None
    board_keys: list[Key] | None = None
    score_threshold: Annotated[float, Meta(ge=0, le=1)] | None = None


class PoolListQuery(Struct, kw_only=True):
    name: str | None = None
    page: Page = 1
    limit: Limit = 30
    order_by: Literal["asc", "desc"] | None = None
    sort_by: str = "date"


class PoolCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=256)]
    description: str | None = None


class RecordLookup(Struct, kw_only=True):
    key: str | None = None
    reference: str | None = None
    email: str | None = None


class ArchiveRequest(Struct, kw_only=True):
    key: Key | None = None
    reference: Key | None = None
    profile_email: Key | None = None
    is_archive: bool = True

    @property
    def lookup(self) -> RecordLookup:
        return RecordLookup(key=self.key, reference=self.reference, email=self.profile_email)


class ProfileArchive(ArchiveRequest, kw_only=True):
    source_key: Key

    @property
    def pool_key(self) -> str:
        return self.source_key


class JobArchive(ArchiveRequest, kw_only=True):
    board_key: Key

    @property
    def pool_key(self) -> str:
        return self.board_key


class RecordQuery(Struct, kw_only=True):
    key: Key | None = None
    reference: Key | None = None
    profile_email: Key | None = None
    email: Key | None = None

    @property
    def lookup(self) -> RecordLookup:
        return RecordLookup(key=self.key, reference=self.reference, email=self.profile_email or self.email)


class ProfileQuery(RecordQuery, kw_only=True):
    """A profile by `source_key` and its key, reference or email (`GET profile/indexing|parsing`)."""

    source_key: Key

    @property
    def pool_key(self) -> str:
        return self.source_key


class ProfileErasure(Struct, kw_only=True):
    """`DELETE profile`: a profile by `source_key` and its key or reference (not by email: whether an
    email is in a pool is not a write key's to learn)."""

    source_key: Key
    key: Key | None = None
    reference: Key | None = None

    @property
    def lookup(self) -> RecordLookup:
        return RecordLookup(key=self.key, reference=self.reference)


class JobQuery(RecordQuery, kw_only=True):
    board_key: Key

    @property
    def pool_key(self) -> str:
        return self.board_key


class PoolQuery(Struct, kw_only=True):
    key: Key


# -- algorithms and feedback --------------------------------------------------------------------------

Role = Literal["candidate", "employee", "recruiter", "manager"]
Action = Annotated[str, Meta(min_length=1, max_length=256)]


class Goal(Struct, kw_only=True, forbid_unknown_fields=True):
    """One tracking action of the customer's journey and what reaching it says about the match."""

    action: Action
    outcome: Literal["positive", "neutral", "negative"]


class LiveLearning(Struct, kw_only=True, forbid_unknown_fields=True):
    """Retrain by itself: after this many new feedback events of the labeller role, or this often; each
    such training passes the same checks (and the same no-worse gate) before its version serves."""

    mode: Literal["rating", "tracking"] = "tracking"
    after_events: Annotated[int, Meta(ge=1, le=1_000_000_000)] | None = None
    every_hours: Annotated[float, Meta(gt=0, le=24 * 366 * 10)] | None = None  # at least once in ten years


class AlgorithmCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    base: Annotated[str, Meta(extra_json_schema={"enum": [base.key for base in MARKETPLACE]})]
    name: Annotated[str, Meta(min_length=1, max_length=256)]
    labeller_role: Role
    description: str | None = None
    # The journey's stages in order (a candidate reaching a later one matched better).
    goals: list[Goal] | None = None
    live_learning: LiveLearning | None = None


_LIVE = {"required": ["live_learning"], "properties": {"live_learning": {"type": "object"}}}
_LIVE_ON_TRACKINGS = {
    "required": ["live_learning"],
    "properties": {"live_learning": {"type": "object", "properties": {"mode": {"const": "tracking"}}}},
}
# What `AlgorithmService.fork` checks between fields, as JSON Schema for the API's document: live learning
# retrains, so it needs a trainable base and something to start it; on trackings it learns from the goals.
ALGORITHM_RULES: tuple[dict[str, Any], ...] = (
    {
        "if": _LIVE,
        "then": {
            "properties": {
                "base": {"enum": [base.key for base in MARKETPLACE if base.trainable]},
                "live_learning": {
                    "anyOf": [
                        {"required": ["after_events"], "properties": {"after_events": {"type": "integer"}}},
                        {"required": ["every_hours"], "properties": {"every_hours": {"type": "number"}}},
                    ]
                },
            }
        },
    },
    {
        "if": _LIVE_ON_TRACKINGS,
        "then": {"required": ["goals"], "properties": {"goals": {"type": "array", "minItems": 1}}},
    },
)


class AlgorithmQuery(Struct, kw_only=True):
    algorithm_key: Key


class AlgorithmListQuery(Struct, kw_only=True):
    page: Page = 1
    limit: Limit = 30


class AlgorithmRollback(Struct, kw_only=True, forbid_unknown_fields=True):
    algorithm_key: Key
    version: Annotated[int, Meta(ge=1)]


class AlgorithmRelease(Struct, kw_only=True, forbid_unknown_fields=True):
    """An admin's override of the release gate: serve a version it held, saying why."""

    algorithm_key: Key
    version: Annotated[int, Meta(ge=1)]
    reason: Annotated[str, Meta(min_length=10, max_length=2000)]


class AlgorithmDefault(Struct, kw_only=True, forbid_unknown_fields=True):
    algorithm_key: Key | None  # None: back to the built-in cerebro-base


# Up to 256 characters: the audit trail keeps a parameter that long verbatim (services/audit.py).
StopReason = Annotated[str, Meta(min_length=1, max_length=256)]


class AlgorithmStop(Struct, kw_only=True, forbid_unknown_fields=True):
    """The kill switch: while stopped, the algorithm's calls are answered by the workspace default
    (`fallback: default`) or refused (`fail`)."""

    algorithm_key: Key
    fallback: Literal["default", "fail"]
    reason: StopReason


class AlgorithmRestore(Struct, kw_only=True, forbid_unknown_fields=True):
    algorithm_key: Key
    reason: StopReason


class Signal(Struct, kw_only=True, forbid_unknown_fields=True):
    """What a rating and a tracking share: who gave it, about which profile and job, when."""

    role: Role
    source_key: Key
    board_key: Key
    profile_key: str | None = None
    profile_reference: str | None = None
    job_key: str | None = None
    job_reference: str | None = None
    author_email: Annotated[str, Meta(max_length=320)] | None = None
    comment: Annotated[str, Meta(max_length=10_000)] | None = None
    created_at: Timestamp | None = None


class RatingCreate(Signal, kw_only=True, forbid_unknown_fields=True):
    score: Annotated[float, Meta(ge=0, le=1)]


class TrackingCreate(Signal, kw_only=True, forbid_unknown_fields=True):
    action: Action


class FeedbackListQuery(Struct, kw_only=True):
    role: Role
    source_key: Key | None = None
    source_keys: list[Key] | None = None
    profile_key: str | None = None
    profile_reference: str | None = None
    board_key: Key | None = None
    board_keys: list[Key] | None = None
    job_key: str | None = None
    job_reference: str | None = None
    actions: list[Action] | None = None  # trackings only
    return_profile: bool = False
    return_author: bool = False
    page: Page = 1
    limit: Limit = 30
    order_by: Literal["asc", "desc"] = "desc"
    sort_by: Literal["scoring", "created_at"] = "scoring"
    created_at_min: Timestamp | None = None
    created_at_max: Timestamp | None = None
    # Conditions on the rated profile: its address within a radius, its years of experience and education.
    location_lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    location_lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    location_distance: Distance | None = None
    use_location_address: bool = True
    use_location_experience: bool = False
    use_location_education: bool = False
    experiences_duration_min: Annotated[float, Meta(ge=0)] | None = None
    experiences_duration_max: Annotated[float, Meta(ge=0)] | None = None
    educations_duration_min: Annotated[float, Meta(ge=0)] | None = None
    educations_duration_max: Annotated[float, Meta(ge=0)] | None = None

    @property
    def filters_profiles(self) -> bool:
        return self.location_distance is not None or any(
            value is not None
            for value in (
                self.experiences_duration_min,
                self.experiences_duration_max,
                self.educations_duration_min,
                self.educations_duration_max,
            )
        )


class TrainingCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    algorithm_key: Key
    mode: Literal["rating", "tracking"] = "rating"
    source_keys: list[Key] | None = None  # None: feedback about profiles of every source
    board_keys: list[Key] | None = None
    created_at_min: Timestamp | None = None
    created_at_max: Timestamp | None = None


class TrainingQuery(Struct, kw_only=True):
    training_key: Key


class AuditQuery(Struct, kw_only=True):
    """`GET /v1/audit`: events newest first, filtered; `format=jsonl` exports every match, oldest first."""

    page: Page = 1
    limit: Limit = 30
    created_at_min: Timestamp | None = None
    created_at_max: Timestamp | None = None
    key_id: Annotated[str, Meta(max_length=64)] | None = None
    route: Annotated[str, Meta(max_length=256)] | None = None
    status: Annotated[int, Meta(ge=100, le=599)] | None = None
    format: Literal["json", "jsonl"] = "json"


# Age bands of protected attributes (the EEO-1 / census bands employers report on).
AgeBand = Literal["under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]


class ProtectedAttributes(Struct, kw_only=True, forbid_unknown_fields=True):
    """One profile's protected attributes, self-declared or from audit data; null or absent is unknown.
    Gender, ethnicity and location are the customer's own categories (free text, bounded)."""

    profile_key: str | None = None
    profile_reference: str | None = None
    gender: Annotated[str, Meta(max_length=64)] | None = None
    ethnicity: Annotated[str, Meta(max_length=128)] | None = None
    age_band: AgeBand | None = None
    location: Annotated[str, Meta(max_length=128)] | None = None


class AttributesCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    source_key: Key
    # More at once go through the JSONL import (each entry is looked up: a request stays short).
    attributes: Annotated[list[ProtectedAttributes], Meta(min_length=1, max_length=1000)]


# Each entry names its profile by key or reference (what the OpenAPI document says of `attributes`).
ATTRIBUTES_RULES: tuple[dict[str, Any], ...] = (
    {
        "properties": {
            "attributes": {
                "items": {
                    "anyOf": [
                        {"required": [name], "properties": {name: {"type": "string"}}}
                        for name in ("profile_key", "profile_reference")
                    ]
                }
            }
        }
    },
)


class AttributesLine(ProtectedAttributes, kw_only=True, forbid_unknown_fields=True):
    """One line of a JSONL import: a profile's attributes with its source."""

    source_key: Key


class AttributesQuery(Struct, kw_only=True):
    source_key: Key
    profile_key: str | None = None
    profile_reference: str | None = None


class FairnessAuditCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Audit a version: every job of `board_keys` ranks the profiles of `source_keys` (with the version's
    validation data when a training produced it). `version`: the active one when left out."""

    algorithm_key: Key
    version: Annotated[int, Meta(ge=1)] | None = None
    source_keys: Annotated[list[Key], Meta(min_length=1, max_length=100)]
    board_keys: Annotated[list[Key], Meta(min_length=1, max_length=100)]
    top_k: Annotated[int, Meta(ge=1, le=100)] = 10
    bias_probes: bool = True  # also counterfactual (stereotype) and overload probes (services/bias_probes.py)


class FairnessAuditQuery(Struct, kw_only=True):
    audit_key: Key
    format: Literal["json", "html"] = "json"


class FairnessAuditKey(Struct, kw_only=True, forbid_unknown_fields=True):
    audit_key: Key
