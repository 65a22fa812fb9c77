"""Every kind of page checked by axe-core (bundled with axe-playwright-python) in Chromium: no serious or
critical accessibility violation (contrast, labels, names, landmarks, ARIA) on the demo workspace."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser import copilot_urls

from cerebro_serve.services.copilots import CopilotListQuery
from cerebro_serve.services.queries import AlgorithmListQuery

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


def test_copilot_pages_have_no_serious_accessibility_violations(page, site, axe: Axe) -> None:
    problems = {}
    for name, url in copilot_urls(site).items():
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
