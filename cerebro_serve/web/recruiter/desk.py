"""What the Recruiter Copilot's pages read and write through the services, confined to the copilot's own
boards and sources (a signed link opens those, nothing else). Blocking: handlers run these off the loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cerebro_serve.objects import JOB, PROFILE, Job, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import Copilot
from cerebro_serve.services.errors import Forbidden, InvalidParameters
from cerebro_serve.services.explanations import Explained
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import (
    FeedbackListQuery,
    JobsStoringQuery,
    PairQuery,
    ProfilesStoringQuery,
    RatingCreate,
    RecordLookup,
    TrackingCreate,
)
from cerebro_serve.web.recruiter.table import (
    TableView,
    column_value,
    current_title,
    is_hidden_gem,
    score_to_stars,
    skill_overlap,
    stages_of,
)

JOBS_PER_PAGE = 10
FEEDBACK_READ = 1000  # the latest rating and stage of each profile for one job, read in one call


@dataclass(frozen=True)
class Row:
    """One profile of the table: its place in the whole ranking, and what the recruiter said of it so far."""

    profile: Profile
    rank: int
    score: float
    overlap: float | None
    gem: bool
    title: str
    columns: list[str]
    stage: str | None
    stars: int | None


def require_board(copilot: Copilot, board_key: str) -> None:
    if board_key not in copilot.settings.board_keys:
        raise Forbidden("this job is not on this copilot's boards")


def board_jobs(workspace: Workspace, copilot: Copilot, name: str, page: int) -> Page:
    """The copilot's boards' jobs, newest first, those whose title contains `name`."""
    query = JobsStoringQuery(
        board_keys=copilot.settings.board_keys, name=name or None, page=page, limit=JOBS_PER_PAGE, return_job=True
    )
    return workspace.records.list(JOB, query)


def write_job(workspace: Workspace, copilot: Copilot, title: str, description: str) -> Job:
    """A typed job, parsed and indexed into the copilot's first board so that it can be scored."""
    if not title.strip():
        raise InvalidParameters("give the job a title")
    if not description.strip():
        raise InvalidParameters("describe the job: its missions, the skills it needs")
    board_key = copilot.settings.board_keys[0]
    return workspace.parsing.parse_job_text(f"{title.strip()}\n{description.strip()}", board_key, {"name": title})


def job(workspace: Workspace, copilot: Copilot, board_key: str, job_key: str) -> Job:
    require_board(copilot, board_key)
    return workspace.records.get(JOB, board_key, RecordLookup(key=job_key))


def stages(workspace: Workspace, copilot: Copilot) -> tuple[str, ...]:
    key = copilot.settings.algorithm_key
    return stages_of(workspace.algorithms.get(key) if key else None)


def ranked_rows(workspace: Workspace, copilot: Copilot, view: TableView, lang: str) -> tuple[Page, list[Row]]:
    """The table's page of the ranking, each row with its extra columns, gem badge and latest feedback."""
    settings = copilot.settings
    require_board(copilot, view.board)
    page = workspace.ranking.score_profiles(view.scoring(settings.source_keys, settings.algorithm_key, lang))
    stage_of, rating_of = latest_feedback(workspace, copilot, view)
    predictions = page.predictions or [None] * len(page.items)
    scores = [float(prediction[1]) if prediction else 0.0 for prediction in predictions]
    # The first page holds the whole top (PAGE_SIZE >= GEM_TOP), and its first row the best score.
    best = scores[0] if scores and page.page == 1 else None
    rows: list[Row] = []
    for number, profile in enumerate(page.items):
        explanation = page.explanations[number] if page.explanations else None
        overlap = skill_overlap(explanation) if explanation is not None else None
        rank = (page.page - 1) * page.limit + number + 1
        rows.append(
            Row(
                profile=profile,
                rank=rank,
                score=scores[number],
                overlap=overlap,
                gem=best is not None and is_hidden_gem(rank, scores[number], best, overlap),
                title=current_title(profile),
                columns=[column_value(profile, name) for name in settings.design.columns],
                stage=stage_of.get(profile.key),
                stars=rating_of.get(profile.key),
            )
        )
    return page, rows


def latest_feedback(workspace: Workspace, copilot: Copilot, view: TableView) -> tuple[dict[str, str], dict[str, int]]:
    """Each profile's latest recruiter stage and star rating for the view's job."""
    found: list[dict[str, Any]] = []
    for kind in ("tracking", "rating"):
        query = FeedbackListQuery(
            role="recruiter",
            source_keys=copilot.settings.source_keys,
            board_key=view.board,
            job_key=view.job,
            limit=FEEDBACK_READ,
            sort_by="created_at",
            order_by="asc",  # later events overwrite earlier ones below
        )
        found.append({item["profile_key"]: item for item in workspace.feedback.list(kind, query).items})
    trackings, ratings = found
    return (
        {key: item["action"] for key, item in trackings.items()},
        {key: score_to_stars(item["score"]) for key, item in ratings.items()},
    )


def explain(workspace: Workspace, copilot: Copilot, view: TableView, profile_key: str, lang: str) -> Explained:
    """The profile's explanation for the job, as the copilot's algorithm scores it."""
    require_board(copilot, view.board)
    query = PairQuery(
        source_key=profile_source(workspace, copilot, profile_key),
        board_key=view.board,
        profile_key=profile_key,
        job_key=view.job,
        algorithm_key=copilot.settings.algorithm_key,
        output_lang="fr" if lang == "fr" else "en",
    )
    return workspace.explanations.grade(query, PROFILE)


def profile_source(workspace: Workspace, copilot: Copilot, profile_key: str) -> str:
    """Which of the copilot's sources holds the profile; refused when none does."""
    if not profile_key:
        raise InvalidParameters("choose a profile in the table first")
    for source_key in copilot.settings.source_keys:
        query = ProfilesStoringQuery(source_keys=[source_key], key=profile_key, limit=1)
        if workspace.records.list(PROFILE, query).items:
            return source_key
    raise Forbidden("this profile is not in this copilot's talent pool")


def profile_of(workspace: Workspace, copilot: Copilot, profile_key: str) -> Profile:
    return workspace.records.get(
        PROFILE, profile_source(workspace, copilot, profile_key), RecordLookup(key=profile_key)
    )


def rate(workspace: Workspace, copilot: Copilot, view: TableView, profile_key: str, score: float) -> None:
    workspace.feedback.rate(RatingCreate(**_signal(workspace, copilot, view, profile_key), score=score))


def track(workspace: Workspace, copilot: Copilot, view: TableView, profile_key: str, stage: str) -> None:
    if stage not in stages(workspace, copilot):
        raise InvalidParameters("choose one of the journey's stages")
    workspace.feedback.track(TrackingCreate(**_signal(workspace, copilot, view, profile_key), action=stage))


def _signal(workspace: Workspace, copilot: Copilot, view: TableView, profile_key: str) -> dict[str, Any]:
    """Who gives the rating or tracking and about which pair: the recruiter, on the copilot's pools only."""
    require_board(copilot, view.board)
    source_key = profile_source(workspace, copilot, profile_key)
    return {
        "role": "recruiter",
        "source_key": source_key,
        "board_key": view.board,
        "profile_key": profile_key,
        "job_key": view.job,
    }
