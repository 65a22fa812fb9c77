"""The candidate's jobs: the copilot's boards ranked for their profile by the copilot's algorithm, with
the filters its design offers (distance from the candidate, keywords, tags) and pages of ten."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Template

from cerebro_serve.objects import Job, Profile
from cerebro_serve.services.copilots import Copilot
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.queries import Geopoint, JobsScoringQuery, Tag
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, copilot_page
from cerebro_serve.web.talent.common import candidate_of, no_profile_page

PER_PAGE = 10
RADII = (10, 25, 50, 100, 250, 500)  # km
MAX_KEYWORDS = 10
TAG_CHOICES = 12  # per tag name, the most common first


@dataclass(frozen=True)
class JobFilters:
    keywords: str = ""
    radius: int | None = None
    tags: tuple[str, ...] = ()  # "name=value"
    page: int = 1

    @classmethod
    def of(cls, request: Request, offered: list[str]) -> JobFilters:
        """The filters asked for in the query string, keeping only those the copilot offers."""
        params = request.query_params
        page = params.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 10_000:
            raise InvalidParameters("this page number does not exist")
        radius = params.get("radius", "")
        if radius and (not radius.isdigit() or int(radius) not in RADII):
            raise InvalidParameters("choose a distance from the list")
        return cls(
            keywords=params.get("keywords", "").strip()[:200] if "keywords" in offered else "",
            radius=int(radius) if radius and "location" in offered else None,
            tags=tuple(t for t in params.getall("tag", []) if "=" in t) if "tags" in offered else (),
            page=int(page),
        )

    def params(self) -> dict[str, Any]:
        return {"keywords": self.keywords, "radius": self.radius, "tag": list(self.tags)}


def tag_groups(tags: tuple[str, ...]) -> list[list[Tag] | Tag]:
    """Tags of one name are alternatives (any of them), different names all apply."""
    groups: dict[str, list[Tag]] = defaultdict(list)
    for tag in tags:
        name, value = tag.split("=", 1)
        groups[name].append(Tag(name=name, value=value))
    return list(groups.values())


def home_point(profile: Profile) -> Geopoint | None:
    location = profile.info.location
    return (
        Geopoint(lat=location.lat, lng=location.lng) if location.lat is not None and location.lng is not None else None
    )


def scoring_query(visit: Visit, profile: Profile, filters: JobFilters) -> JobsScoringQuery:
    point = home_point(profile)
    near = filters.radius is not None and point is not None
    return JobsScoringQuery(
        board_keys=visit.copilot.settings.board_keys,
        source_key=visit.copilot.source_key,
        profile_key=profile.key,
        algorithm_key=visit.copilot.settings.algorithm_key,
        sort_by="scoring",
        text_keywords=filters.keywords.split()[:MAX_KEYWORDS],
        tags_included=tag_groups(filters.tags),
        location_geopoint=point if near else None,
        location_distance=float(filters.radius) if near and filters.radius else None,
        page=filters.page,
        limit=PER_PAGE,
        explain=True,
        output_lang=visit.lang,  # type: ignore[arg-type]  # the pages speak en and fr, both output languages
    )


def tag_choices(request: Request, copilot: Copilot) -> dict[str, list[tuple[str, int]]]:
    """Per tag name, the values the copilot's jobs carry and how many jobs carry each (call)."""
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    for board_key in copilot.settings.board_keys:
        for tag, count in workspace_of(request).reads.tag_counts(board_key).items():
            counts[tag] += count
    choices: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (name, value), count in sorted(counts.items(), key=lambda item: (-item[1], item[0][0], item[0][1] or "")):
        if value is not None and len(choices[name]) < TAG_CHOICES:
            choices[name].append((value, count))
    return {name: sorted(values) for name, values in sorted(choices.items())}


def matched_skills(explanation: Any) -> list[str]:
    """The job's skills the profile has, heaviest first, from the ranking's short explanation."""
    if explanation is None:
        return []
    for category in explanation.categories:
        if category.name == "skills" and category.found:
            return [fact.name for fact in category.found[:5]]
    return []


@dataclass(frozen=True)
class JobRow:
    job: Job
    score: float | None
    skills: list[str]


def rank(request: Request, visit: Visit, profile: Profile, filters: JobFilters) -> tuple[list[JobRow], int, int]:
    """(this page's rows, the number of pages, the number of jobs): call."""
    page = workspace_of(request).ranking.score_jobs(scoring_query(visit, profile, filters))
    predictions = page.predictions or [None] * len(page.items)
    explanations = page.explanations or [None] * len(page.items)
    rows = [
        JobRow(job, prediction[1] if prediction else None, matched_skills(explanation))
        for job, prediction, explanation in zip(page.items, predictions, explanations)
    ]
    return rows, page.meta["maxPage"], page.total


@get("/{key:str}/talent/jobs")
async def jobs(request: Request) -> Template:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    offered: list[str] = list(visit.copilot.settings.design.filters)
    filters = JobFilters.of(request, offered)
    rows, pages, total = await call(rank, request, visit, profile, filters)
    tags = await call(tag_choices, request, visit.copilot) if "tags" in offered else {}
    return copilot_page(
        request,
        visit,
        "talent/jobs.html",
        profile=profile,
        rows=rows,
        pages=pages,
        total=total,
        filters=filters,
        offered=offered,
        radii=RADII,
        has_point=home_point(profile) is not None,
        tag_choices=tags,
        page_url=lambda page: visit.link("/talent/jobs", **filters.params(), page=page),
    )


talent_jobs_handlers = [jobs]
