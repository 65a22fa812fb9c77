"""My Algorithms in a real browser: an admin forks an algorithm with a journey of goals, reviews the data
a training would read, trains it, sees its plots, compares two versions, rolls back, sets the default and
back, and stops and restores it with the kill switch; a bad fork form is refused with its reason."""

from __future__ import annotations

import re
import time

import httpx
from browser import screenshot
from helpers import LYON, PARIS
from helpers import PARIS_PYTHON_JOB as JOB
from playwright.sync_api import expect

from cerebro_serve.services.queries import AlgorithmCreate


def _sign_in(page, site, path: str) -> None:
    page.goto(path)
    page.get_by_label("Admin key").fill(site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path.split('?')[0]}**")


def _post(api: httpx.Client, path: str, body: dict) -> dict:
    """A POST that waits out the encoder's back-pressure (429 with Retry-After), as a client should."""
    for _ in range(20):
        answer = api.post(path, json=body)
        if answer.status_code != 429:
            assert answer.status_code in (200, 201), answer.text
            return answer.json()["data"]
        time.sleep(float(answer.headers.get("retry-after", "2")))
    raise AssertionError(f"{path} stayed saturated")


def _local_hiring(site) -> str:
    """Recruiters rate 8 Paris jobs, each with 3 Paris candidates (0.9) and 3 in Lyon with the same resume
    (0.1): 24 positive and 24 negative pairs in a source of their own, enough for a training."""
    api = httpx.Client(base_url=site.base_url, headers={"X-API-KEY": site.admin_key}, timeout=60)
    source = _post(api, "/v1/source", {"name": "Studio training candidates"})["key"]
    board = _post(api, "/v1/board", {"name": "Studio training jobs"})["key"]
    for job in range(8):
        _post(api, "/v1/job/indexing", {**JOB, "board_key": board, "reference": f"job-{job}"})
        for candidate in range(6):
            local = candidate % 2 == 0
            reference = f"p{job}-{candidate}"
            profile = {
                "source_key": source,
                "reference": reference,
                "info": {"full_name": f"Person {reference}", "location": {"text": "x", **(PARIS if local else LYON)}},
                "text": "Python developer building Django REST APIs with PostgreSQL for six years.",
                "skills": [{"name": "Python", "type": "hard"}, {"name": "Django", "type": "hard"}],
            }
            _post(api, "/v1/profile/indexing", profile)
            rating = {
                "source_key": source,
                "board_key": board,
                "profile_reference": reference,
                "job_reference": f"job-{job}",
                "role": "recruiter",
                "score": 0.9 if local else 0.1,
            }
            _post(api, "/v1/rating", rating)
    return source


def test_an_admin_forks_reviews_trains_compares_and_rolls_back(page, site):
    _sign_in(page, site, "/studio/algorithms")
    expect(page.get_by_role("heading", name="Marketplace")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Studio local hiring")
    page.get_by_label("Base algorithm").select_option("cerebro-trainable")
    page.get_by_label("Labeller role").select_option("recruiter")
    page.get_by_label("Stage 1: action").fill("interview")
    page.get_by_label("Stage 1: outcome").select_option("positive")
    page.get_by_label("Stage 2: action").fill("screening")
    page.locator("#stages li").nth(1).get_by_role("button", name="Move up").click()  # screening comes first
    page.get_by_role("button", name="Add a stage").click()
    page.get_by_label("Stage 6: action").fill("rejected")
    page.get_by_label("Stage 6: outcome").select_option("negative")
    screenshot(page, "studio-algorithms")
    page.get_by_role("button", name="Fork", exact=True).click()
    page.wait_for_url("**/studio/algorithms/*?lang=en")
    key = page.url.split("/studio/algorithms/")[1].split("?")[0]
    algorithm = site.workspace.algorithms.get(key)
    assert algorithm["goals"] == [
        {"action": "screening", "outcome": "neutral"},
        {"action": "interview", "outcome": "positive"},
        {"action": "rejected", "outcome": "negative"},
    ]
    expect(page.get_by_text("Algorithm created.")).to_be_visible()

    source = _local_hiring(site)
    page.get_by_role("link", name="Training").click()
    page.get_by_label("Sources (none chosen: all)").select_option(source)
    page.get_by_role("button", name="Review the data").click()
    per_class = page.locator("#labels-per-class")
    expect(per_class.get_by_role("row", name="Positive")).to_contain_text("24")
    expect(per_class.get_by_role("row", name="Negative")).to_contain_text("24")
    expect(page.locator("#events-per-role").get_by_role("row", name="recruiter")).to_contain_text("48")
    expect(page.locator("#events-per-source").get_by_role("row", name=source)).to_contain_text("48")
    expect(page.locator("#insufficient")).to_have_count(0)
    screenshot(page, "studio-training-review")

    page.get_by_role("button", name="Launch the training").click()
    expect(page.get_by_text("Training queued.")).to_be_visible()
    expect(page.locator('#queue tr[data-status="succeeded"]')).to_be_visible(timeout=240_000)  # studio.js polls
    page.locator("#queue").get_by_role("link", name="Version 2").click()
    for name in ("ROC curve of version 2", "Log loss per iteration of version 2", "Scores of positive and negative"):
        expect(page.locator(f'svg[role="img"][aria-label^="{name}"]')).to_be_visible()
    expect(page.locator('svg[role="img"][aria-label^="Confusion matrix of version 2"]')).to_be_visible()
    assert site.workspace.algorithms.get(key)["active_version"] == 2
    expect(page.locator("#active-version")).to_have_text("2")
    # What was learned, in words: the recruiters' preference for local candidates.
    learned = page.get_by_role("region", name="What version 2 learned")
    location = learned.get_by_role("row", name="Location")
    expect(location).to_contain_text("gained weight")
    expect(location.get_by_role("cell").last).to_have_text(re.compile(r"^0\.\d+ ± 0(\.\d+)?$"))
    expect(learned.get_by_role("listitem").filter(has_text="Location gained weight")).to_be_visible()
    screenshot(page, "studio-algorithm-overview")

    page.get_by_label("First version").select_option("1")
    page.get_by_label("Second version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("columnheader", name="Version 1")).to_be_visible()
    expect(page.locator('svg[role="img"][aria-label^="ROC curves of versions 1 and 2"]')).to_be_visible()
    screenshot(page, "studio-compare")

    page.get_by_role("link", name="Studio local hiring").click()
    page.get_by_role("button", name="Serve version 1").click()
    expect(page.get_by_text("The chosen version now serves.")).to_be_visible()
    assert site.workspace.algorithms.get(key)["active_version"] == 1

    try:
        page.get_by_label("Answer scoring calls that name no algorithm with this one").check()
        page.get_by_role("button", name="Save default").click()
        expect(page.get_by_text("Workspace default updated.")).to_be_visible()
        assert site.workspace.algorithms.get(key)["is_default"]
        page.get_by_label("Answer scoring calls that name no algorithm with this one").uncheck()
        page.get_by_role("button", name="Save default").click()
        expect(page.get_by_text("Workspace default updated.")).to_be_visible()
        assert not site.workspace.algorithms.get(key)["is_default"]
    finally:
        site.workspace.algorithms.set_default(None)


def test_the_kill_switch_stops_and_restores_and_a_nameless_fork_is_refused_in_french(page, site):
    _sign_in(page, site, "/studio/algorithms")
    page.goto("/studio/algorithms?lang=fr")
    response = page.request.post(
        "/studio/algorithms?lang=fr",
        form={"base": "cerebro-trainable", "name": " ", "labeller_role": "recruiter"},
    )
    assert response.status == 400 and "Donnez un nom à l’algorithme." in response.text()
    page.get_by_role("button", name="Créer la copie").click()
    expect(page.get_by_role("alert")).to_have_text("Donnez un nom à l’algorithme.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes algorithmes")

    key = site.workspace.algorithms.fork(
        AlgorithmCreate(base="cerebro-trainable", name="Studio kill switch", labeller_role="manager")
    )["key"]
    page.goto(f"/studio/algorithms/{key}?lang=fr")
    page.get_by_label("Pourquoi l’arrêter").fill("Scores drift on the new board")
    page.get_by_label("refusés").check()
    page.get_by_role("button", name="Arrêter cet algorithme").click()
    expect(page.get_by_text("Algorithme arrêté.")).to_be_visible()
    stopped = site.workspace.algorithms.get(key)["stopped"]
    assert stopped["reason"] == "Scores drift on the new board" and stopped["fallback"] == "fail"
    assert stopped["stopped_by"]["key_id"]
    page.get_by_label("Pourquoi le rétablir").fill("Checked")
    page.get_by_role("button", name="Rétablir").click()
    expect(page.get_by_text("Algorithme rétabli.")).to_be_visible()
    assert site.workspace.algorithms.get(key)["stopped"] is None
