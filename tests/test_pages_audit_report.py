"""A fairness audit's report opened in the Studio, in a real browser: its charts and tables render from
this server alone, and it needs the admin's session."""

from __future__ import annotations

import random
import time

from browser import screenshot

from cerebro_serve.objects import PROFILE
from cerebro_serve.services.queries import (
    AttributesCreate,
    FairnessAuditCreate,
    ProfilesStoringQuery,
    ProtectedAttributes,
)


def _audit(site) -> str:
    """cerebro-base audited on the demo pools, each demo profile given attributes drawn at random (seeded)."""
    workspace = site.workspace
    query = ProfilesStoringQuery(source_keys=[site.source_key], limit=1000)
    profiles = workspace.records.list(PROFILE, query).items
    rng = random.Random(15)
    attributes = [
        ProtectedAttributes(
            profile_key=profile["key"],
            gender=rng.choice(["female", "male"]),
            age_band=rng.choice(["25-34", "35-44", "45-54"]),
        )
        for profile in profiles
    ]
    workspace.fairness.set_attributes(AttributesCreate(source_key=site.source_key, attributes=attributes))
    request = FairnessAuditCreate(
        algorithm_key="cerebro-base", source_keys=[site.source_key], board_keys=[site.board_key], bias_probes=False
    )
    key = workspace.fairness.start(request)["audit_key"]
    deadline = time.monotonic() + 240
    while (audit := workspace.fairness.get(key))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, audit
        time.sleep(0.5)
    assert audit["status"] == "succeeded", audit.get("error")
    return key


def test_the_audit_report_renders_in_the_studio_for_a_signed_in_admin(page, site) -> None:
    key = _audit(site)
    page.goto(f"/studio/audits/{key}?lang=en")
    assert "/studio/sign-in" in page.url  # no session, no report; signing in leads back, query and all
    page.get_by_label("Admin key").fill(site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/studio/audits/{key}?lang=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Fairness audit of cerebro-base, version 1"
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 2  # scoring rates by gender and by age band at least
    assert "impact ratio" in charts.first.get_attribute("aria-label").lower()
    assert page.locator("table caption").count() >= 2
    screenshot(page, "studio-audit-report")
    missing = page.goto("/studio/audits/" + "0" * 40)
    assert missing.status == 404 and "no fairness audit" in page.get_by_role("alert").inner_text()
