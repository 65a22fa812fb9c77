"""The candidate's own profile: what the parser read, corrected by them (`records.edit`, as PUT
/v1/profile/indexing does), and erased on request (`records.erase`, as DELETE /v1/profile does). After
erasure their signed link still opens the copilot, but shows no profile."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from cerebro_serve.objects import PROFILE, Profile, Skill
from cerebro_serve.services.errors import InvalidParameters, Missing
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit, copilot_page
from cerebro_serve.web.talent.common import candidate_of, no_profile_page, without_candidate

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_SKILLS = 100
BAD_EMAIL = "This email address does not look right: it needs a name, an @ and a domain, like ana@example.com."
BAD_POINT = "The latitude must be between -90 and 90 and the longitude between -180 and 180, or leave both empty."


def skills_text(profile: Profile) -> str:
    return ", ".join(skill.name for skill in profile.skills)


def coordinate(text: str, bound: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise InvalidParameters(BAD_POINT) from None
    if not -bound <= value <= bound:
        raise InvalidParameters(BAD_POINT)
    return value


def corrected(profile: Profile, form: dict[str, str]) -> dict[str, Any]:
    """The edit a submitted form asks for: the info fields it shows, and the skills, each kept as it was
    (type, taxonomy concept) when its name stays, new ones added as given."""
    email = form.get("email", "").strip()
    if email and not EMAIL.match(email):
        raise InvalidParameters(BAD_EMAIL)
    lat, lng = coordinate(form.get("lat", ""), 90), coordinate(form.get("lng", ""), 180)
    if (lat is None) != (lng is None):
        raise InvalidParameters(BAD_POINT)
    info = msgspec.to_builtins(profile.info)
    location = info.get("location", {}) | {"text": form.get("location", "").strip() or None, "lat": lat, "lng": lng}
    info |= {
        "full_name": form.get("full_name", "").strip() or None,
        "email": email or None,
        "phone": form.get("phone", "").strip() or None,
        "summary": form.get("summary", "").strip() or None,
        "location": location,
    }
    known = {skill.name.casefold(): skill for skill in profile.skills}
    names = list(dict.fromkeys(name.strip() for name in form.get("skills", "").split(",") if name.strip()))
    skills = [known.get(name.casefold()) or Skill(name=name) for name in names[:MAX_SKILLS]]
    return {"key": profile.key, "info": info, "skills": msgspec.to_builtins(skills)}


def profile_page(request: Request, visit: Visit, profile: Profile, **context: Any) -> Response:
    return copilot_page(
        request,
        visit,
        "talent/profile.html",
        profile=profile,
        skills=context.pop("skills", skills_text(profile)),
        saved=request.query_params.get("saved") == "1",
        **context,
    )


@get("/{key:str}/talent/profile")
async def show_profile(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    return profile_page(request, visit, profile)


@post("/{key:str}/talent/profile", status_code=303)
async def correct_profile(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    form = {name: value for name, value in (await request.form()).items() if isinstance(value, str)}
    try:
        fields = corrected(profile, form)
        await call(workspace_of(request).records.edit, PROFILE, visit.copilot.source_key, fields)
    except InvalidParameters as error:
        # The form as they filled it, with what to fix.
        shown = msgspec.structs.replace(
            profile, info=msgspec.convert(_typed_info(profile, form), type=type(profile.info))
        )
        return profile_page(request, visit, shown, status=400, error=error.detail, skills=form.get("skills", ""))
    return Redirect(visit.link("/talent/profile", saved=1), status_code=303)


def _typed_info(profile: Profile, form: dict[str, str]) -> dict[str, Any]:
    """The info fields as typed (text only), to show back on a refused form."""
    info = msgspec.to_builtins(profile.info)
    info |= {name: form.get(name) or None for name in ("full_name", "email", "phone", "summary")}
    info["location"] = info.get("location", {}) | {"text": form.get("location") or None}
    return info


@get("/{key:str}/talent/profile/delete")
async def confirm_erasure(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    return copilot_page(request, visit, "talent/delete.html", profile=profile)


@post("/{key:str}/talent/profile/delete", status_code=200)
async def erase_profile(request: Request) -> Response:
    visit, profile = await candidate_of(request)
    if profile is None:
        return no_profile_page(request, visit)
    try:
        await call(
            workspace_of(request).records.erase, PROFILE, visit.copilot.source_key, RecordLookup(key=profile.key)
        )
    except Missing:  # erased by another tab meanwhile: the same outcome
        pass
    return copilot_page(request, without_candidate(visit), "talent/deleted.html")


talent_profile_handlers = [show_profile, correct_profile, confirm_erasure, erase_profile]
