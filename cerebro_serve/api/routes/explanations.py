"""One profile and one job, explained: `{profile,job}/grading` (the score and its decomposition) and
`{profile,job}/upskilling` (the same, with the missing skills that would raise it most)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.contract import reads
from cerebro_serve.api.copilot_scope import open_to, scoped
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import decode_query
from cerebro_serve.api.routes.common import call, workspace_of
from cerebro_serve.objects import JOB, PROFILE, RecordKind
from cerebro_serve.services.explanations import Explanation
from cerebro_serve.services.queries import PairQuery, UpskillingQuery

PAIR = (("profile_key", "profile_reference"), ("job_key", "job_reference"))


class Grading(msgspec.Struct, kw_only=True):
    score: float  # what the scoring route that lists this record gives the pair
    predictions: list[float]  # [1 - score, score], as scoring routes report it
    explanation: Explanation


def _grading(kind: RecordKind) -> HTTPRouteHandler:
    ranking = "profiles/scoring" if kind is PROFILE else "jobs/scoring"

    @get(
        f"/{kind.name}/grading",
        opt=open_to(
            reads(query=PairQuery, any_of=PAIR, answers={200: Grading}, errors=(403, 409), encodes=True),
            "talent",
            "recruiter",
        ),
        name=f"grade-{kind.name}",
        tags=["explanations"],
        summary=f"Grade one {kind.name}: the score `{ranking}` gives the pair, taken apart",
        description=(
            f"The score the algorithm's active version gives the pair in `{ranking}`, and its exact "
            "decomposition: each feature's contribution to the logit (the linear part and the trees' Shapley "
            "values against a pair with every feature neutral) grouped into skills, job titles, experience, "
            "education, languages, location and overall text similarity, with what was found (and where), "
            "what is missing, and sentences in `output_lang`. A profile whose consent refuses scoring is "
            "refused with 403."
        ),
    )
    async def grade(request: Request) -> Response:
        query = scoped(request, decode_query(request, PairQuery))
        explained = await call(workspace_of(request).explanations.grade, query, kind)
        score = explained.explanation.score
        data = Grading(score=score, predictions=[1.0 - score, score], explanation=explained.explanation)
        return envelope(200, f"{kind.name.title()} grading", data, explained.meta)

    return grade


def _upskilling(kind: RecordKind) -> HTTPRouteHandler:
    audience = "the candidate: what the job wants that the profile lacks" if kind is PROFILE else "the recruiter"

    @get(
        f"/{kind.name}/upskilling",
        opt=open_to(
            reads(query=UpskillingQuery, any_of=PAIR, answers={200: Explanation}, errors=(403, 409), encodes=True),
            "talent",
            "recruiter",
        ),
        name=f"upskill-{kind.name}",
        tags=["explanations"],
        summary=f"Strengths, weaknesses and upskilling of one pair, for {audience}",
        description=(
            "The grading's explanation, with `strengths` and `weaknesses` and `suggestions`: the job's "
            "missing skills whose addition raises the score most, each measured by re-scoring the pair with "
            "the skill added to the profile. A profile whose consent refuses scoring or upskilling is "
            "refused with 403."
        ),
    )
    async def upskill(request: Request) -> Response:
        query = scoped(request, decode_query(request, UpskillingQuery))
        explained = await call(workspace_of(request).explanations.upskill, query, kind)
        meta: dict[str, Any] = explained.meta
        if query.score is not None:
            meta["score_given"] = query.score
        return envelope(200, f"{kind.name.title()} upskilling", explained.explanation, meta)

    return upskill


explanation_handlers = [_grading(PROFILE), _grading(JOB), _upskilling(PROFILE), _upskilling(JOB)]
