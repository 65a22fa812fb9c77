"""The Recruiter Copilot's ranking table, apart from HTTP: which page of which job's ranking a URL names (and
its filters), each row's extra columns, the journey's stages, and the hidden-gem rule.

A table page is named entirely by its URL (`TableView`), so the rating and stage forms in a row can post
and come back to exactly the page, filters and paging the recruiter was looking at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from cerebro_serve.objects import Profile
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.explanations import Explanation
from cerebro_serve.services.queries import Geopoint, ProfilesScoringQuery, Tag

PAGE_SIZE = 10
# When the copilot's algorithm names no journey (a fork with goals), a recruiter's usual one.
DEFAULT_STAGES = ("viewed", "shortlisted", "interviewed", "hired", "rejected")
STARS = (1, 2, 3, 4, 5)
# Hidden gems: ranked among the first GEM_TOP, scored at least GEM_NEAR_BEST of the best score, yet holding
# under GEM_OVERLAP of the weight of the skills the job asks for.
GEM_TOP = 10
GEM_NEAR_BEST = 0.75
GEM_OVERLAP = 0.2
assert PAGE_SIZE >= GEM_TOP  # the whole top is on the first page, beside the best score


@dataclass(frozen=True)
class TableView:
    """One page of one job's ranking with its filters, as the URL's query carries it (all text, as typed)."""

    board: str
    job: str
    page: int = 1
    keywords: str = ""
    tag_name: str = ""
    tag_value: str = ""
    lat: str = ""
    lng: str = ""
    radius: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> TableView:
        """The view a query (or a posted form) names; refused when it names no job."""
        board, job = params.get("board", "").strip(), params.get("job", "").strip()
        if not board or not job:
            raise InvalidParameters("choose a job first: this page needs its `board` and `job`")
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            raise InvalidParameters("the page number must be a whole number") from None
        text = {f.name: params.get(f.name, "").strip() for f in fields(cls) if f.name not in ("board", "job", "page")}
        return cls(board=board, job=job, page=page, **text)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The URL parameters of this view (or of a changed one: another page, another profile)."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | changes

    def scoring(self, source_keys: list[str], algorithm_key: str | None, lang: str) -> ProfilesScoringQuery:
        """The ranking this page shows, each row with its short explanation (what the hidden-gem rule reads)."""
        keywords = self.keywords.split()
        tags: list[list[Tag] | Tag] = []
        if self.tag_name:
            tags.append(Tag(name=self.tag_name, value=self.tag_value or None))
        elif self.tag_value:
            raise InvalidParameters("a tag filter needs the tag's name")
        return ProfilesScoringQuery(
            source_keys=source_keys,
            board_key=self.board,
            job_key=self.job,
            algorithm_key=algorithm_key,
            sort_by="scoring",
            page=self.page,
            limit=PAGE_SIZE,
            text_keywords=keywords,
            tags_included=tags,
            location_geopoint=self._point(),
            location_distance=_number(self.radius, "radius", 0.001, 20_000) if self.radius else None,
            explain=True,
            output_lang="fr" if lang == "fr" else "en",
        )

    def _point(self) -> Geopoint | None:
        if not (self.lat or self.lng or self.radius):
            return None
        if not (self.lat and self.lng and self.radius):
            raise InvalidParameters("a location filter needs a latitude, a longitude and a radius in km")
        return Geopoint(lat=_number(self.lat, "latitude", -90, 90), lng=_number(self.lng, "longitude", -180, 180))

    def first_page(self) -> TableView:
        return replace(self, page=1)


def _number(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise InvalidParameters(f"the {what} must be a number") from None
    if not low <= value <= high:
        raise InvalidParameters(f"the {what} must be between {low:g} and {high:g}")
    return value


def skill_overlap(explanation: Explanation) -> float | None:
    """The share of the job's skill weight the profile holds (0 to 1); None when the job lists no skills."""
    skills = next(category for category in explanation.categories if category.name == "skills")
    if not skills.has_data:
        return None
    return sum(fact.share for fact in skills.found or [])


def is_hidden_gem(rank: int, score: float, best: float, overlap: float | None) -> bool:
    """A hidden gem is a profile the algorithm ranks among the first `GEM_TOP` (1-based `rank` over the
    filtered ranking) and scores at least `GEM_NEAR_BEST` of the `best` (first-ranked) score, while it holds
    under `GEM_OVERLAP` of the weight of the job's skills: its titles, experience or text carry it, so a
    search on the job's skills would have passed it by. A job listing no skills has no gems."""
    return rank <= GEM_TOP and score >= GEM_NEAR_BEST * best and overlap is not None and overlap < GEM_OVERLAP


def column_value(profile: Profile, name: str) -> str:
    """A configured column: the values of the profile's tags of that name, else of its metadatas."""
    for entities in (profile.tags, profile.metadatas):
        values = [_text(entity.value) for entity in entities if entity.name == name]
        if values:
            return ", ".join(values)
    return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def current_title(profile: Profile) -> str:
    """The latest experience's title (experiences come latest first), else none."""
    return next((experience.title for experience in profile.experiences if experience.title), "")


def stages_of(algorithm: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The journey's stages: the copilot algorithm's goals when it is a fork that has them, else the default."""
    goals = (algorithm or {}).get("goals") or []
    return tuple(goal["action"] for goal in goals) or DEFAULT_STAGES


def stars_to_score(stars: str) -> float:
    """1 to 5 stars as a rating's score in [0, 1] (1 star: 0, 5 stars: 1)."""
    try:
        value = int(stars)
    except ValueError:
        raise InvalidParameters("choose from 1 to 5 stars") from None
    if value not in STARS:
        raise InvalidParameters("choose from 1 to 5 stars")
    return (value - 1) / 4


def score_to_stars(score: float) -> int:
    return int(round(score * 4)) + 1
