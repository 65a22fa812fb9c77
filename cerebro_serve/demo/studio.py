"""The demo's copilots and learning loop, so that every page has something to show after `make serve`:
a Talent and a Recruiter Copilot on the demo pools, a fork of the trainable base with a hiring journey,
recruiter ratings synthesised from the demo's fields (a profile of the job's field rated high, one of
another field low: demo data, said so in its comments), and one training queued on them, which the
training worker runs in the background."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from cerebro_serve.objects import Job, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import CopilotCreate, Design
from cerebro_serve.services.queries import AlgorithmCreate, Goal, RatingCreate, TrainingCreate

DEMO_ALGORITHM = "Demo recruiters"
JOURNEY = (("shortlisted", "neutral"), ("interviewed", "positive"), ("hired", "positive"), ("rejected", "negative"))
RATED_PER_JOB = 4  # two of the job's field, two of others


def _field(record: Profile | Job) -> str:
    return next(str(tag.value) for tag in record.tags if tag.name == "field")


def load_demo_studio(
    workspace: Workspace, source_key: str, board_key: str, profiles: Sequence[Profile], jobs: Sequence[Job]
) -> None:
    kinds: tuple[tuple[Literal["talent", "recruiter"], str, str], ...] = (
        ("talent", "Careers at Demo Corp", "Upload your resume and see the jobs that fit you best."),
        ("recruiter", "Demo Corp talent pool", "Pick a job or describe one; the pool is ranked for it."),
    )
    for kind, title, welcome in kinds:
        design = Design(title=title, welcome=welcome, columns=["field", "city"])
        workspace.copilots.create(
            CopilotCreate(
                type=kind, name=f"Demo {kind} copilot", source_keys=[source_key], board_keys=[board_key], design=design
            )
        )
    fork = workspace.algorithms.fork(
        AlgorithmCreate(
            base="cerebro-trainable",
            name=DEMO_ALGORITHM,
            labeller_role="recruiter",
            description="Learns from the demo recruiters' ratings.",
            goals=[Goal(action=action, outcome=outcome) for action, outcome in JOURNEY],  # type: ignore[arg-type]
        )
    )
    rng = random.Random(2026)
    by_field: dict[str, list[Profile]] = {}
    for profile in profiles:
        by_field.setdefault(_field(profile), []).append(profile)
    for job in jobs:
        field = _field(job)
        others = [p for name, group in by_field.items() if name != field for p in group]
        rated = [(p, 0.8 + 0.2 * rng.random()) for p in rng.sample(by_field[field], RATED_PER_JOB // 2)]
        rated += [(p, 0.2 * rng.random()) for p in rng.sample(others, RATED_PER_JOB // 2)]
        for profile, score in rated:
            workspace.feedback.rate(
                RatingCreate(
                    role="recruiter",
                    source_key=source_key,
                    board_key=board_key,
                    profile_reference=profile.reference,
                    job_reference=job.reference,
                    score=round(score, 2),
                )
            )
    workspace.training.start(TrainingCreate(algorithm_key=fork["key"], mode="rating"), trigger="demo")
