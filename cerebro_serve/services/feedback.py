"""Ratings and trackings (HrFlow's Signal API): validated, durable before the reply, listed with filters,
and imported in bulk from JSONL in a way that a rerun after an interruption adds nothing twice."""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from cerebro_serve.index.filters import GeoFilter, within_radius
from cerebro_serve.objects import JOB, PROFILE, Profile, RecordKind
from cerebro_serve.record_features import UNKNOWN
from cerebro_serve.scoring.features import profile_years
from cerebro_serve.services.errors import InvalidParameters, ServiceError
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import FeedbackListQuery, RatingCreate, RecordLookup, Signal, TrackingCreate
from cerebro_serve.services.records import RecordService
from cerebro_serve.services.timestamps import format_timestamp, optional_timestamp
from cerebro_serve.store import StoredRecord
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import FeedbackFilter, FeedbackRow, LearningStore, StoredFeedback

RATING, TRACKING = "rating", "tracking"
IMPORT_BATCH = 500


@dataclass
class ImportReport:
    """What a bulk import did: lines stored, lines already stored (by an earlier, interrupted run),
    and lines refused with the reason, by line number."""

    stored: int = 0
    duplicates: int = 0
    rejected: builtins.list[tuple[int, str]] = field(default_factory=list)


class FeedbackService:
    def __init__(self, store: LearningStore, records: RecordService) -> None:
        self.store = store
        self.records = records

    def rate(self, request: RatingCreate) -> dict[str, Any]:
        return self._post(RATING, request)

    def track(self, request: TrackingCreate) -> dict[str, Any]:
        return self._post(TRACKING, request)

    def list(self, kind: str, query: FeedbackListQuery) -> Page:
        where = FeedbackFilter(
            kind=kind,
            role=query.role,
            source_keys=query.source_keys if query.source_keys is not None else _one(query.source_key),
            board_keys=query.board_keys if query.board_keys is not None else _one(query.board_key),
            profile_id=self._record_id(PROFILE, query.source_key, query.profile_key, query.profile_reference),
            job_id=self._record_id(JOB, query.board_key, query.job_key, query.job_reference),
            actions=query.actions if kind == TRACKING else None,
            created_at_min_us=optional_timestamp(query.created_at_min, "created_at_min"),
            created_at_max_us=optional_timestamp(query.created_at_max, "created_at_max"),
        )
        sort_by = "score" if query.sort_by == "scoring" and kind == RATING else "created_at"
        offset, descending = (query.page - 1) * query.limit, query.order_by == "desc"
        if query.filters_profiles:
            # Conditions on the profiles' content: read every match of the SQL filter, keep those whose
            # profile passes, then page.
            everything, _ = self.store.list_feedback(where, 0, None, sort_by, descending)
            passing = self._profiles_passing(everything, query)
            stored, total = passing[offset : offset + query.limit], len(passing)
        else:
            stored, total = self.store.list_feedback(where, offset, query.limit, sort_by, descending)
        profiles = self._profiles_of(stored) if query.return_profile else {}
        items = [self._view(item, profiles.get(item.row.profile_id), query.return_author) for item in stored]
        return Page(items, query.page, query.limit, total)

    def import_lines(self, kind: str, lines: Iterable[bytes | str]) -> ImportReport:
        """Historical feedback, one JSON object per line (the POST body's fields). Each line's fingerprint
        is its content, so importing the same file again (after a crash, a timeout) stores only the lines
        that had not landed; `created_at` should be given, else the import time is used."""
        request_type: type[RatingCreate | TrackingCreate] = RatingCreate if kind == RATING else TrackingCreate
        report, batch = ImportReport(), []
        lines = list(lines)
        if not any(line.strip() for line in lines):
            raise InvalidParameters("the body has no lines: send JSON Lines, one rating or tracking per line")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                request = msgspec.json.decode(line, type=request_type)
                batch.append(self._row(kind, request, *self._pair(request), repeatable=True))
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                report.rejected.append((number, InvalidParameters.from_validation(error).detail))
            except ServiceError as error:
                report.rejected.append((number, error.detail))
            if len(batch) >= IMPORT_BATCH:
                self._store_batch(batch, report)
                batch = []
        self._store_batch(batch, report)
        return report

    # -- internals ---------------------------------------------------------------------------------

    def _profiles_passing(
        self, items: builtins.list[StoredFeedback], query: FeedbackListQuery
    ) -> builtins.list[StoredFeedback]:
        if query.location_distance is not None:
            if query.location_lat is None or query.location_lon is None:
                raise InvalidParameters("`location_distance` needs `location_lat` and `location_lon`")
            if query.use_location_experience or query.use_location_education:
                raise InvalidParameters(
                    "only the profile's address is located here: `use_location_experience` "
                    "and `use_location_education` are not supported"
                )
        ids = sorted({item.row.profile_id for item in items})
        profiles = {
            stored.id: msgspec.json.decode(stored.body, type=Profile)
            for stored in self.records.store.records.load_records(ids)
        }
        keep = {profile_id for profile_id, profile in profiles.items() if _profile_passes(profile, query)}
        return [item for item in items if item.row.profile_id in keep]

    def _post(self, kind: str, request: RatingCreate | TrackingCreate) -> dict[str, Any]:
        profile, job = self._pair(request)
        row = self._row(kind, request, profile, job, repeatable=request.created_at is not None)
        [key] = self.store.add_feedback([row])
        # A repeated event answers with the key it was first stored under.
        stored = StoredFeedback(
            dataclasses.replace(row, key=key), profile.key, profile.reference, job.key, job.reference
        )
        return self._view(stored, None, False)

    def _pair(self, request: Signal) -> tuple[StoredRecord, StoredRecord]:
        """The profile and the job the feedback is about; both must exist."""
        profile = self.records.find(
            PROFILE, request.source_key, _lookup(request.profile_key, request.profile_reference)
        )
        job = self.records.find(JOB, request.board_key, _lookup(request.job_key, request.job_reference))
        return profile, job

    def _row(
        self,
        kind: str,
        request: RatingCreate | TrackingCreate,
        profile: StoredRecord,
        job: StoredRecord,
        repeatable: bool,
    ) -> FeedbackRow:
        """The stored form. An event with its own `created_at` is repeatable: sent again, it is recognised
        and stored once."""
        given = optional_timestamp(request.created_at, "created_at")
        score = request.score if isinstance(request, RatingCreate) else None
        action = request.action if isinstance(request, TrackingCreate) else None
        identity = [kind, request.role, score, action, profile.id, job.id, request.author_email, request.comment, given]
        if not repeatable:
            identity.append(secrets.token_hex(8))
        return FeedbackRow(
            key=secrets.token_hex(20),
            kind=kind,
            role=request.role,
            score=score,
            action=action,
            source_key=request.source_key,
            profile_id=profile.id,
            board_key=request.board_key,
            job_id=job.id,
            author_email=request.author_email,
            comment=request.comment,
            created_at_us=given if given is not None else now_us(),
            fingerprint=hashlib.sha256(json.dumps(identity).encode()).hexdigest(),
        )

    def _store_batch(self, batch: builtins.list[FeedbackRow], report: ImportReport) -> None:
        if not batch:
            return
        keys = self.store.add_feedback(batch)
        stored = sum(key == row.key for key, row in zip(keys, batch))
        report.stored += stored
        report.duplicates += len(batch) - stored

    def _record_id(self, kind: RecordKind, pool_key: str | None, key: str | None, reference: str | None) -> int | None:
        if key is None and reference is None:
            return None
        if pool_key is None:
            raise InvalidParameters(f"a `{kind.name}_key` or `{kind.name}_reference` needs its `{kind.pool}_key`")
        return self.records.find(kind, pool_key, _lookup(key, reference)).id

    def _profiles_of(self, items: builtins.list[StoredFeedback]) -> dict[int, Any]:
        """The page's profiles, read in one query (not one per rating)."""
        stored = self.records.store.records.load_records(sorted({item.row.profile_id for item in items}))
        return {record.id: profile for record, profile in zip(stored, self.records.materialize_many(PROFILE, stored))}

    def _view(self, item: StoredFeedback, profile: Any | None, return_author: bool) -> dict[str, Any]:
        """The API's form of one event; `profile`, when given, is returned with it."""
        row = item.row
        view: dict[str, Any] = {
            "key": row.key,
            "role": row.role,
            **({"score": row.score} if row.kind == RATING else {"action": row.action}),
            "source_key": row.source_key,
            "profile_key": item.profile_key,
            "profile_reference": item.profile_reference,
            "board_key": row.board_key,
            "job_key": item.job_key,
            "job_reference": item.job_reference,
            "author_email": row.author_email,
            "comment": row.comment,
            "created_at": format_timestamp(row.created_at_us),
        }
        if profile is not None:
            view["profile"] = profile
        if return_author:
            view["author"] = {"email": row.author_email}
        return view


def _profile_passes(profile: Profile, query: FeedbackListQuery) -> bool:
    if query.location_distance is not None:
        if not query.use_location_address:
            return False
        place = profile.info.location
        geo = GeoFilter(query.location_lat, query.location_lon, query.location_distance)  # type: ignore[arg-type]  # all three checked above
        if (
            place.lat is None
            or place.lng is None
            or not within_radius(np.array([place.lat]), np.array([place.lng]), geo)[0]
        ):
            return False
    for part, low, high in (
        ("experiences", query.experiences_duration_min, query.experiences_duration_max),
        ("educations", query.educations_duration_min, query.educations_duration_max),
    ):
        if low is None and high is None:
            continue
        years = profile_years(profile, part)
        if years == UNKNOWN or (low is not None and years < low) or (high is not None and years > high):
            return False
    return True


def _lookup(key: str | None, reference: str | None) -> RecordLookup:
    return RecordLookup(key=key, reference=reference)


def _one(key: str | None) -> builtins.list[str] | None:
    return [key] if key is not None else None
