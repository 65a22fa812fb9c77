"""Grading and upskilling: one profile and one job, scored as the ranking that lists one of them would score
it, and explained exactly (scoring/explanation.py).

`profile/*` grades the profile as `profiles/scoring` ranks it for the job (the job is the anchor, the
profile a row of its source); `job/*` grades the job as `jobs/scoring` ranks it for the profile. The pair's
features come from the same re-ranker call as in those routes, so the score is theirs. Upskilling adds
suggestions: each of the job's heaviest missing skills is added to a copy of the profile, the copy is
described again (features afresh, changed views embedded) and re-scored against the same pool; the gain
is the difference of logits, measured rather than estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from cerebro_serve.cluster.shard_ranking import ShardRequest
from cerebro_serve.index.columns import TermStatistics, with_record_replaced
from cerebro_serve.index.filters import RowFilter
from cerebro_serve.objects import JOB, PROFILE, Job, Profile, Record, RecordKind, Skill
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.attribution import attribute, logits_of
from cerebro_serve.scoring.consent import Operation, refusal
from cerebro_serve.scoring.explanation import Explanation, Suggestion, explain
from cerebro_serve.scoring.facts import pair_facts, side_of
from cerebro_serve.scoring.rerank import QueryFeatures, rerank
from cerebro_serve.scoring.wording import Wording
from cerebro_serve.services.algorithms import AlgorithmService, Resolved
from cerebro_serve.services.anchors import Anchor, Anchors
from cerebro_serve.services.errors import Forbidden, InvalidParameters, NotFound
from cerebro_serve.services.pool_reads import PoolReads
from cerebro_serve.services.queries import PairQuery, RecordLookup, UpskillingQuery
from cerebro_serve.services.records import RecordService

__all__ = ["Explained", "Explanation", "ExplanationService"]

TRIED_SKILLS = 8  # the heaviest missing skills re-scored with the profile (one encoder call for all)
SUGGESTIONS = 5
# The operations each explanation needs consent for (scoring/consent.py); a score needs the vectors.
CONSENT_USES: dict[str, tuple[Operation, ...]] = {
    "grading": ("embedding", "scoring"),
    "upskilling": ("embedding", "scoring", "upskilling"),
}


@dataclass(frozen=True, slots=True)
class Explained:
    explanation: Explanation
    resolved: Resolved  # the algorithm version that answered (and the stopped one it stands in for)

    @property
    def meta(self) -> dict[str, Any]:
        return self.resolved.meta


@dataclass(frozen=True, slots=True)
class _Pair:
    """A graded pair: the anchor and the graded record's row in its pool, with what the re-ranker read."""

    subject: RecordKind
    anchor: Anchor
    resolved: Resolved
    algorithm: Algorithm
    profile: Profile
    job: Job
    profile_views: np.ndarray  # as stored: what the copies of upskilling start from
    profile_features: RecordFeatures
    job_features: RecordFeatures
    pool_key: str  # the graded record's pool
    record_id: int  # the graded record
    score: float
    features: np.ndarray


class ExplanationService:
    def __init__(
        self, records: RecordService, anchors: Anchors, algorithms: AlgorithmService, reads: PoolReads
    ) -> None:
        self.records = records
        self.anchors = anchors
        self.algorithms = algorithms
        self.reads = reads

    def grade(self, query: PairQuery, subject: RecordKind) -> Explained:
        pair = self._pair(query, subject, "grading")
        return Explained(self._explain(pair, Wording(query.output_lang)), pair.resolved)

    def upskill(self, query: UpskillingQuery, subject: RecordKind) -> Explained:
        pair = self._pair(query, subject, "upskilling")
        wording = Wording(query.output_lang)
        explanation = self._explain(pair, wording)
        explanation.suggestions = self._suggestions(pair, explanation, wording)
        return Explained(explanation, pair.resolved)

    def of_page(self, anchor: Anchor, kind: RecordKind, items: Sequence[Record], lang: str) -> list[Explanation]:
        """Short explanations (no evidence spans, no suggestions) of a scored page's items, in its order."""
        if anchor.algorithm is None or anchor.query is None or anchor.stored is None or anchor.features is None:
            raise InvalidParameters("`explain` needs a score: leave the algorithm on")
        wording = Wording(lang)
        anchor_record: Record = (
            self.records.materialize(JOB, anchor.stored)
            if kind is PROFILE
            else self.records.materialize(PROFILE, anchor.stored)
        )
        anchor_side = side_of(self.records.extractor, anchor_record, anchor.features)
        explanations = []
        for item in items:
            pool_key = getattr(item, kind.pool_key_field)
            score, features = self._rescore(anchor, pool_key, item.id)  # type: ignore[arg-type]
            _, item_features = self.anchors.vectors_of(item.id, lambda record=item: record)  # type: ignore[arg-type,misc]
            item_side = side_of(self.records.extractor, item, item_features)
            profile, job = (item_side, anchor_side) if kind is PROFILE else (anchor_side, item_side)
            facts = pair_facts(self.records.extractor, profile, job, evidence=False)
            attribution = attribute(anchor.algorithm, features[None])
            explanations.append(
                explain(anchor.algorithm, attribution, 0, score, features, facts, wording, anchor.query.is_job)
            )
        return explanations

    # -- the pair ----------------------------------------------------------------------------------

    def _pair(self, query: PairQuery, subject: RecordKind, use: str) -> _Pair:
        if query.profile_key is None and query.profile_reference is None:
            raise InvalidParameters("give `profile_key` or `profile_reference`")
        if query.job_key is None and query.job_reference is None:
            raise InvalidParameters("give `job_key` or `job_reference`")
        resolved = self.algorithms.resolve(query.algorithm_key)
        algorithm = resolved.algorithm
        profile_stored = self.records.find(
            PROFILE, query.source_key, RecordLookup(key=query.profile_key, reference=query.profile_reference)
        )
        profile = self.records.materialize(PROFILE, profile_stored)
        _require_consent(profile, use)
        job_stored = self.records.find(
            JOB, query.board_key, RecordLookup(key=query.job_key, reference=query.job_reference)
        )
        job = self.records.materialize(JOB, job_stored)
        graded_record: Record
        if subject is PROFILE:  # ranked among profiles for the job
            anchor = self.anchors.of(JOB, job_stored, algorithm)
            graded, graded_record, pool_key = profile_stored, profile, query.source_key
        else:  # ranked among jobs for the profile
            anchor = self.anchors.of(PROFILE, profile_stored, algorithm)
            graded, graded_record, pool_key = job_stored, job, query.board_key
        score, features = self._rescore(anchor, pool_key, graded.id)
        graded_views, graded_features = self.anchors.vectors_of(graded.id, lambda: graded_record)
        assert anchor.views is not None and anchor.features is not None
        profile_side = (graded_views, graded_features) if subject is PROFILE else (anchor.views, anchor.features)
        return _Pair(
            subject=subject,
            anchor=anchor,
            resolved=resolved,
            algorithm=algorithm,
            profile=profile,
            job=job,
            profile_views=profile_side[0],
            profile_features=profile_side[1],
            job_features=anchor.features if subject is PROFILE else graded_features,
            pool_key=pool_key,
            record_id=graded.id,
            score=score,
            features=features,
        )

    def _rescore(self, anchor: Anchor, pool_key: str, record_id: int) -> tuple[float, np.ndarray]:
        """The record's score and features against the anchor, from the re-ranker call the scoring routes
        make (on the shard that holds it, where shards hold the pools)."""
        return self._features_of(pool_key, anchor.vector, anchor.query, anchor.algorithm, record_id)

    def _features_of(
        self,
        pool_key: str,
        vector: np.ndarray,
        query: QueryFeatures | None,
        algorithm: Algorithm | None,
        record_id: int,
    ) -> tuple[float, np.ndarray]:
        assert query is not None and algorithm is not None
        request = ShardRequest(vector, RowFilter(archived_too=True), None, query, algorithm)
        scored = self.reads.scored(pool_key, request, np.array([record_id], dtype=np.int64))
        if not len(scored.record_ids) or scored.features is None:
            raise NotFound("profile" if query.is_job else "job")
        return float(scored.scores[0]), scored.features[0]

    def _explain(self, pair: _Pair, wording: Wording) -> Explanation:
        extractor = self.records.extractor
        profile = side_of(extractor, pair.profile, pair.profile_features)
        facts = pair_facts(extractor, profile, side_of(extractor, pair.job, pair.job_features))
        attribution = attribute(pair.algorithm, pair.features[None])
        job_is_query = pair.subject is PROFILE  # a profile graded for a job: the job was the query
        return explain(pair.algorithm, attribution, 0, pair.score, pair.features, facts, wording, job_is_query)

    # -- upskilling --------------------------------------------------------------------------------

    def _suggestions(self, pair: _Pair, explanation: Explanation, wording: Wording) -> list[Suggestion]:
        """The missing skills whose addition raises the score most, each re-scored with the profile."""
        skills = next(category for category in explanation.categories if category.name == "skills")
        tried = (skills.missing or [])[:TRIED_SKILLS]
        if not tried:
            return []
        added = [Skill(name=fact.name, taxonomy_id=fact.taxonomy_id) for fact in tried]
        edits = [msgspec.structs.replace(pair.profile, skills=[*pair.profile.skills, skill]) for skill in added]
        described = self.records.describe_edits(pair.profile, pair.profile_views, pair.profile_features, edits)
        # The pool's statistics, read once: each edit replaces the same profile among the same rows.
        statistics = self.reads.statistics(pair.pool_key) if pair.subject is PROFILE else None
        features = np.stack([self._edited_features(pair, statistics, views, f) for views, f in described])
        gains = logits_of(pair.algorithm, features) - explanation.logit
        scores = 1.0 / (1.0 + np.exp(-(explanation.logit + gains)))
        for fact, gain in zip(tried, gains):
            fact.gain = float(gain)
        ranked = sorted((int(i) for i in np.flatnonzero(gains > 0)), key=lambda i: (-gains[i], tried[i].name))[
            :SUGGESTIONS
        ]
        return [
            Suggestion(
                skill=added[i],
                gain=float(gains[i]),
                score=float(scores[i]),
                text=wording.say(
                    "suggestion", skill=added[i].name, **_told_apart(wording, explanation.score, scores[i])
                ),
            )
            for i in ranked
        ]

    def _edited_features(
        self, pair: _Pair, statistics: TermStatistics | None, views: np.ndarray, features: RecordFeatures
    ) -> np.ndarray:
        """The re-ranker's features of the job and an edited copy of the profile, in the pair's direction
        (`statistics`: the profile's pool's, when the copy replaces it there)."""
        algorithm = pair.algorithm
        if pair.subject is PROFILE:  # the copy replaces the profile among its source's rows
            assert pair.anchor.query is not None and statistics is not None
            edited = with_record_replaced(statistics, pair.profile_features, features, views[1:])
            cosine = (views[0][None, :] @ pair.anchor.vector).astype(np.float32)
            return rerank(edited, pair.anchor.query, algorithm, np.zeros(1, dtype=np.int64), cosine, 1).features[0]
        # The copy is the anchor the graded job is scored for.
        query = QueryFeatures.of(features, views, is_job=False)
        return self._features_of(
            pair.pool_key, algorithm.adapt(views[0], is_job=False), query, algorithm, pair.record_id
        )[1]


def _told_apart(wording: Wording, before: float, after: float) -> dict[str, str]:
    """Both scores with as many decimals as it takes (up to 4) for a rise near 1 not to read as none."""
    digits = 2
    while digits < 4 and round(before, digits) == round(after, digits):
        digits += 1
    return {"before": wording.number(before, digits), "after": wording.number(after, digits)}


def _require_consent(profile: Profile, use: str) -> None:
    """A profile whose consent refuses an operation this needs is refused, not scored."""
    for operation in CONSENT_USES[use]:
        refused = refusal(profile.consent_algorithmic, operation)
        if refused is not None:
            raise Forbidden(f"{refused}: no {use} for it")
