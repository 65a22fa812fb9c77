"""HrFlow v1 Profile and Job objects: the vocabulary every layer shares.

Fields follow the HrFlow API reference. Inputs are decoded leniently (unknown fields are ignored, as the
public SDK forwards whatever the caller gives it) but typed strictly: a wrong type is a 400, never a guess.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]


class Location(Struct, kw_only=True):
    text: str | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    gmaps: str | None = None
    fields: dict[str, Any] | list[Any] | None = None


class GeneralEntity(Struct, kw_only=True):
    """A language, certification, course, task, interest, tag or metadata. `value` may be any JSON."""

    name: str
    value: Any = None


class Skill(Struct, kw_only=True):
    name: str
    type: Literal["hard", "soft"] | None = None
    value: Any = None
    # Ours, not HrFlow's: the taxonomy concept ("esco:<uuid>", "onet-tech:<slug>") the parser matched.
    taxonomy_id: str | None = None


class Url(Struct, kw_only=True):
    type: str | None = None
    url: str | None = None


class Info(Struct, kw_only=True):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    driving_license: str | None = None
    date_birth: str | None = None
    location: Location = msgspec.field(default_factory=Location)
    urls: list[Url] = []
    picture: str | None = None
    gender: str | None = None
    summary: str | None = None


class Period(Struct, kw_only=True):
    """What an experience and an education share: a titled, dated, located stretch of a career."""

    key: str | None = None
    logo: str | None = None
    title: str | None = None
    description: str | None = None
    location: Location = msgspec.field(default_factory=Location)
    date_start: str | None = None
    date_end: str | None = None
    skills: list[Skill] = []
    certifications: list[GeneralEntity] = []
    courses: list[GeneralEntity] = []
    tasks: list[GeneralEntity] = []
    languages: list[GeneralEntity] = []
    interests: list[GeneralEntity] = []


class Experience(Period, kw_only=True):
    company: str | None = None


class Education(Period, kw_only=True):
    school: str | None = None


class Attachment(Struct, kw_only=True):
    type: str | None = None
    alt: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    original_file_name: str | None = None
    extension: str | None = None
    public_url: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Label(Struct, kw_only=True):
    board_key: str | None = None
    job_key: str | None = None
    job_reference: str | None = None
    stage: str | None = None
    date_stage: str | None = None
    rating: int | None = None
    date_rating: str | None = None


# How far a profile's data may go (ours, beside HrFlow's per-operation keys; scoring/consent.py says what
# each level allows): private < personalisation < improvement.
Privacy = Literal["private", "personalisation", "improvement"]


class ConsentAlgorithmic(Struct, kw_only=True):
    """HrFlow's per-operation consent, given by the person (`owner`) and by the customer (`controller`)."""

    owner: dict[str, bool] = {}
    controller: dict[str, bool] = {}
    privacy: Privacy | None = None  # None: improvement, unless `training` (or `learning`) is refused


class Section(Struct, kw_only=True):
    name: str | None = None
    title: str | None = None
    description: str | None = None


class RangeFloat(Struct, kw_only=True):
    name: str | None = None
    value_min: float | None = None
    value_max: float | None = None
    unit: str | None = None


class RangeDate(Struct, kw_only=True):
    name: str | None = None
    value_min: str | None = None
    value_max: str | None = None


class PoolRef(Struct, kw_only=True):
    """The `source` of a profile or the `board` of a job, as embedded in the object."""

    key: str
    name: str
    type: str = "api"
    subtype: str = "api"
    environment: str = "production"


# ISO-8601 (services/timestamps.py parses it); an empty string means "not given", as HrFlow clients send it.
Timestamp = Annotated[
    str, Meta(extra_json_schema={"anyOf": [{"format": "date"}, {"format": "date-time"}, {"const": ""}]})
]
# The server makes keys (a new record may bring its own, in the same form).
RecordKey = Annotated[str, Meta(pattern="^[0-9a-f]{40}$")]


class Indexed(Struct, kw_only=True):
    """What profiles and jobs share: identity, server-kept dates, and the entity lists."""

    id: int | None = None
    key: RecordKey | None = None
    reference: str | None = None
    archive: str | None = None
    archived_at: str | None = None
    created_at: Timestamp | None = None
    updated_at: str | None = None
    skills: list[Skill] = []
    languages: list[GeneralEntity] = []
    certifications: list[GeneralEntity] = []
    courses: list[GeneralEntity] = []
    tasks: list[GeneralEntity] = []
    interests: list[GeneralEntity] = []
    tags: list[GeneralEntity] = []
    metadatas: list[GeneralEntity] = []


class Profile(Indexed, kw_only=True):
    source_key: str | None = None
    source: PoolRef | None = None
    consent_algorithmic: ConsentAlgorithmic | None = None
    text_language: str | None = None
    text: str | None = None
    info: Info = msgspec.field(default_factory=Info)
    experiences_duration: float | None = None
    educations_duration: float | None = None
    experiences: list[Experience] = []
    educations: list[Education] = []
    attachments: list[Attachment] = []
    labels: list[Label] = []


class Job(Indexed, kw_only=True):
    board_key: str | None = None
    board: PoolRef | None = None
    name: str | None = None
    url: str | None = None
    picture: str | None = None
    summary: str | None = None
    location: Location = msgspec.field(default_factory=Location)
    sections: list[Section] = []
    culture: str | None = None
    benefits: str | None = None
    responsibilities: str | None = None
    requirements: str | None = None
    interviews: str | None = None
    ranges_float: list[RangeFloat] = []
    ranges_date: list[RangeDate] = []


class Pool(Struct, kw_only=True):
    """A source (of profiles) or a board (of jobs) as the API returns it."""

    key: str
    name: str
    description: str | None = None
    type: str = "api"
    subtype: str = "api"
    environment: str = "production"
    created_at: str | None = None
    stats: dict[str, int] = {}


Record = Profile | Job
R = TypeVar("R", Profile, Job)


class RecordKind(Struct, Generic[R], frozen=True):
    """Profiles live in sources, jobs in boards; everything else about them is symmetric."""

    name: Literal["profile", "job"]
    pool: Literal["source", "board"]
    type: type[R]

    @property
    def plural(self) -> str:
        return self.name + "s"

    @property
    def pool_key_field(self) -> str:
        return self.pool + "_key"


PROFILE: RecordKind[Profile] = RecordKind(name="profile", pool="source", type=Profile)
JOB: RecordKind[Job] = RecordKind(name="job", pool="board", type=Job)
