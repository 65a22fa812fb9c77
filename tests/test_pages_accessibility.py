"""Every kind of page checked by axe-core (bundled with axe-playwright-python) in Chromium: no serious or
critical accessibility violation (contrast, labels, names, landmarks, ARIA) on the demo workspace."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe

from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services.copilots import CopilotListQuery
from cerebro_serve.services.queries import AlgorithmListQuery, JobsStoringQuery, ProfilesStoringQuery

SERIOUS = ("serious", "critical")


def _violations(page, axe: Axe) -> list[str]:
    found = axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def _copilot_urls(site) -> dict[str, str]:
    """The demo copilots' pages, with a demo candidate for the Talent Copilot and a demo job for the
    Recruiter Copilot, signed as their links are."""
    workspace = site.workspace
    copilots = {c["type"]: workspace.copilots.get(c["key"]) for c in workspace.copilots.list(CopilotListQuery()).items}
    [profile] = workspace.records.list(PROFILE, ProfilesStoringQuery(source_keys=[site.source_key], limit=1)).items
    [job] = workspace.records.list(JOB, JobsStoringQuery(board_keys=[site.board_key], limit=1)).items
    talent, recruiter = copilots["talent"], copilots["recruiter"]
    expires = int(time.time()) + 3600
    candidate = workspace.copilots.candidate_token(talent, profile["key"], expires)
    talent_query = urlencode({"access": workspace.copilots.access_token(talent, expires), "candidate": candidate})
    recruiter_query = urlencode(
        {"access": workspace.copilots.access_token(recruiter, expires), "board": site.board_key, "job": job["key"]}
    )
    return {
        "talent welcome": f"/copilot/{talent.key}/talent?{talent_query}",
        "talent jobs": f"/copilot/{talent.key}/talent/jobs?{talent_query}",
        "talent job": f"/copilot/{talent.key}/talent/jobs/{job['key']}?{talent_query}&board={site.board_key}",
        "talent profile": f"/copilot/{talent.key}/talent/profile?{talent_query}",
        "recruiter home": f"/copilot/{recruiter.key}/recruiter?{recruiter_query}",
        "recruiter pool": f"/copilot/{recruiter.key}/recruiter/pool?{recruiter_query}",
        "recruiter profile": f"/copilot/{recruiter.key}/recruiter/profile?{recruiter_query}&profile={profile['key']}",
    }


def test_copilot_pages_have_no_serious_accessibility_violations(page, site, axe: Axe) -> None:
    problems = {}
    for name, url in _copilot_urls(site).items():
        for lang in ("en", "fr"):
            response = page.goto(f"{url}&lang={lang}")
            assert response.status == 200, (name, lang, response.status)
            if violations := _violations(page, axe):
                problems[f"{name} ({lang})"] = violations
    assert problems == {}


def test_studio_pages_have_no_serious_accessibility_violations(page, site, axe: Axe) -> None:
    page.goto("/studio/sign-in")
    problems = {"sign in": _violations(page, axe)}
    page.get_by_label("Admin key").fill(site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/studio/overview")
    [fork] = site.workspace.algorithms.list(AlgorithmListQuery()).items[-1:]  # the demo's, made first
    copilot = site.workspace.copilots.list(CopilotListQuery()).items[-1]
    for path in (
        "/studio/overview",
        "/studio/algorithms",
        f"/studio/algorithms/{fork['key']}",
        f"/studio/algorithms/{fork['key']}/training?review=1",
        "/studio/copilots",
        "/studio/copilots/new",
        f"/studio/copilots/{copilot['key']}",
    ):
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        problems[path] = _violations(page, axe)
    assert {path: found for path, found in problems.items() if found} == {}
