"""Where a queued resume stands: still parsing, parsed (then the candidate's jobs), or refused in plain
words. A parsed file with no skills, experience or education is not a resume: it is erased again rather
than matched against jobs as an empty profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Request

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services.errors import NotFound, ServiceError
from cerebro_serve.services.parsing import QueuedParsing
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.web.calls import workspace_of
from cerebro_serve.web.copilot_visit import Visit
from cerebro_serve.web.talent.upload import UNREADABLE

NOT_A_RESUME = (
    "This file does not look like a resume: we found no skills, experience or education in it. "
    "Check that you chose your resume."
)
LOST = "We no longer have this upload. Please upload your resume again."
State = Literal["parsing", "done", "failed"]


@dataclass(frozen=True)
class Progress:
    state: State
    message: str = ""  # an English catalogue id (the pages translate it)
    values: dict[str, Any] = field(default_factory=dict)


def looks_like_a_resume(profile: Profile) -> bool:
    return bool(profile.skills or profile.experiences or profile.educations)


def progress(request: Request, visit: Visit) -> Progress:
    """Blocking: reads the store, and may erase a file that turned out not to be a resume."""
    if visit.profile_key is None:
        return Progress("failed", LOST)
    records, source_key = workspace_of(request).records, visit.copilot.source_key
    try:
        parsed = workspace_of(request).parsing.parsed_profile(source_key, RecordLookup(key=visit.profile_key))
    except NotFound:
        return Progress("failed", LOST)
    except ServiceError:  # the parser gave up on the file (unreadable, too complex, too slow)
        return Progress("failed", UNREADABLE)
    if isinstance(parsed, QueuedParsing):
        return Progress("parsing")
    if not looks_like_a_resume(parsed):
        try:
            records.erase(PROFILE, source_key, RecordLookup(key=parsed.key))
        except ServiceError:  # another poll of the same page erased it first
            pass
        return Progress("failed", NOT_A_RESUME)
    return Progress("done", "Your resume is read.")
