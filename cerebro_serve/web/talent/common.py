"""What every Talent Copilot page shares: running service calls off the event loop, and the candidate's
profile, which may be gone (erased) while their signed link still works."""

from __future__ import annotations

import dataclasses

from litestar import Request
from litestar.response import Template

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services.errors import NotFound
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, copilot_page, visit_of


def find_profile(request: Request, visit: Visit) -> Profile | None:
    """The candidate's profile, or None when the visit has none yet or it was erased."""
    if visit.profile_key is None:
        return None
    try:
        return workspace_of(request).records.get(PROFILE, visit.copilot.source_key, RecordLookup(key=visit.profile_key))
    except NotFound:
        return None


async def candidate_of(request: Request) -> tuple[Visit, Profile | None]:
    visit = await visit_of(request)
    return visit, await call(find_profile, request, visit)


def without_candidate(visit: Visit) -> Visit:
    return dataclasses.replace(visit, candidate=None, profile_key=None)


def no_profile_page(request: Request, visit: Visit) -> Template:
    """What a candidate's pages show without a profile: never uploaded (401), or erased (410)."""
    erased = visit.profile_key is not None
    return copilot_page(
        request, without_candidate(visit), "talent/no_profile.html", status=410 if erased else 401, erased=erased
    )
