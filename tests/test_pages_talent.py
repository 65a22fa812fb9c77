"""The Talent Copilot in a real browser: a candidate uploads a resume with consent, watches it parsed, gets
the demo jobs ranked for them, filters and pages them, reads why a job matches, applies (a tracking is
stored), corrects their profile and erases it; refusals (no consent, not a resume) are said in plain words."""

from __future__ import annotations

import re

import pytest
from browser import screenshot
from helpers import make_pdf

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services.copilots import CopilotCreate, Design
from cerebro_serve.services.errors import NotFound
from cerebro_serve.services.queries import FeedbackListQuery, ProfilesStoringQuery, RecordLookup

DATA_TITLES = {
    "Data Scientist",
    "Machine Learning Engineer",
    "Data Analyst",
    "Analytics Engineer",
    "Backend Engineer",
    "Python Developer",
    "Full Stack Developer",
    "Site Reliability Engineer",
}
RESUME = [
    [
        "Maya Lindqvist",
        "Data Engineer",
        "maya.lindqvist@example.org | +44 20 7946 0321 | London, United Kingdom",
        "SUMMARY",
        "Data engineer with six years of experience building batch and streaming data pipelines.",
        "SKILLS",
        "Python, SQL, Apache Spark, Airflow, Kafka, PostgreSQL, dbt, Docker",
        "EXPERIENCE",
        "Senior Data Engineer, Northwind Analytics, London (2021 - present)",
        "Built Spark pipelines in Python processing 2 TB a day; modelled the warehouse in SQL and dbt.",
        "Data Engineer, Contoso Retail, Manchester (2018 - 2021)",
        "Wrote Airflow DAGs loading sales data into PostgreSQL; cut nightly load time by 60%.",
        "EDUCATION",
        "MSc Data Science, University of Edinburgh (2016 - 2018)",
        "BSc Computer Science, University of Leeds (2013 - 2016)",
    ]
]


@pytest.fixture
def copilot_url(site) -> str:
    """A fresh Talent Copilot over the demo source and board, opened by its pre-signed path."""
    copilot = site.workspace.copilots.create(
        CopilotCreate(
            type="talent",
            name="Careers",
            source_keys=[site.source_key],
            board_keys=[site.board_key],
            design=Design(title="Northwind careers", welcome="Find your next role with us.", primary_colour="#0f5132"),
        )
    )
    path, _ = site.workspace.copilots.presigned_path(copilot.key)
    return path


def _upload(page, name: str, mime: str, data: bytes, *, consent: bool = True) -> None:
    page.set_input_files("#resume", files=[{"name": name, "mimeType": mime, "buffer": data}])
    if consent:
        page.get_by_label(re.compile("read and matched to jobs by an algorithm")).check()
        page.get_by_label(re.compile("correct or delete it at any time")).check()
    page.get_by_role("button", name="Upload and find jobs").click()


def _scores(page) -> list[float]:
    return [float(value) for value in page.locator("ol.jobs meter").evaluate_all("ms => ms.map(m => m.value)")]


def test_a_candidate_uploads_a_resume_gets_ranked_jobs_applies_corrects_and_erases_their_profile(
    page, site, copilot_url
):
    page.goto(copilot_url)
    assert page.get_by_role("heading", level=1).inner_text() == "Northwind careers"
    screenshot(page, "talent-welcome")
    _upload(page, "maya-lindqvist.pdf", "application/pdf", make_pdf(RESUME))

    page.wait_for_url("**/talent/jobs?**", timeout=120_000)
    rows = page.locator("ol.jobs > li")
    assert rows.count() == 10
    scores = _scores(page)
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert rows.first.locator("h2").inner_text() in DATA_TITLES
    assert rows.first.locator(".tag.good").count() >= 1  # a few matched skills
    screenshot(page, "talent-jobs")

    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    assert _scores(page)[0] <= scores[-1] + 1e-6

    page.get_by_label("Keywords").fill("nurse")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**keywords=nurse**")
    titles = page.locator("ol.jobs h2").all_inner_texts()
    assert titles and all("Nurse" in title for title in titles)

    page.get_by_role("link", name="Clear the filters").click()
    page.get_by_label(re.compile(r"^Berlin \(\d+\)$")).check()  # a tag of the demo jobs, with its count
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**tag=city%3DBerlin**")
    places = page.locator("ol.jobs > li p.muted").all_inner_texts()
    assert places and all(place.startswith("Berlin") for place in places)

    page.get_by_role("link", name="Clear the filters").click()
    page.locator("ol.jobs h2 a").first.click()
    page.wait_for_url("**/talent/jobs/**")
    job_key = page.url.split("/talent/jobs/")[1].split("?")[0]
    for heading in ("Why this job", "What matches", "What is missing", "How to become a better fit"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator(".tag.good").count() >= 1
    page.get_by_role("button", name="Apply", exact=True).click()
    assert "application was sent" in page.get_by_role("status").first.inner_text()
    screenshot(page, "talent-job")

    profile = _stored_profile(site, "maya.lindqvist@example.org")
    trackings = site.workspace.feedback.list(
        "tracking", FeedbackListQuery(role="candidate", source_key=site.source_key, profile_key=profile.key)
    ).items
    assert [(t["action"], t["job_key"]) for t in trackings] == [("apply", job_key)]
    assert profile.consent_algorithmic.privacy == "personalisation"

    page.get_by_role("link", name="Your profile").click()
    assert page.get_by_label("Email").input_value() == "maya.lindqvist@example.org"
    assert "Python" in page.get_by_label("Skills").input_value()
    page.get_by_label("Location").fill("Reading, United Kingdom")
    page.get_by_label("Latitude").fill("51.4543")
    page.get_by_label("Longitude").fill("-0.9781")
    page.get_by_label("Skills").fill(page.get_by_label("Skills").input_value() + ", Terraform")
    page.get_by_role("button", name="Save my profile").click()
    assert page.get_by_role("status").inner_text() == "Your profile is saved."
    screenshot(page, "talent-profile")
    stored = site.workspace.records.get(PROFILE, site.source_key, RecordLookup(key=profile.key))
    assert (stored.info.location.text, stored.info.location.lat) == ("Reading, United Kingdom", 51.4543)
    assert "Terraform" in [skill.name for skill in stored.skills]

    jobs_url = page.url.replace("/talent/profile", "/talent/jobs")
    page.goto(jobs_url)
    page.get_by_label("Distance from you").select_option(label="Within 100 km")  # London is 60 km away
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**radius=100**")
    places = page.locator("ol.jobs > li p.muted").all_inner_texts()
    assert places and all(place.startswith("London") for place in places)
    page.get_by_role("link", name="Your profile").click()
    page.get_by_role("link", name="Delete my profile").click()
    page.get_by_role("button", name="Yes, delete my profile").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your profile was deleted"
    with pytest.raises(NotFound):
        site.workspace.records.get(PROFILE, site.source_key, RecordLookup(key=profile.key))
    response = page.goto(jobs_url)
    assert response.status == 410
    assert "deleted" in page.get_by_role("alert").inner_text()


def _stored_profile(site, email: str) -> Profile:
    """The profile parsed from the upload, found in the copilot's source by the email the resume gives."""
    query = ProfilesStoringQuery(source_keys=[site.source_key], return_profile=True, limit=1000)
    [profile] = [p for p in site.workspace.records.list(PROFILE, query).items if p.info.email == email]
    return profile


def test_an_upload_without_consent_is_refused_and_a_file_that_is_not_a_resume_is_said_so(page, site, copilot_url):
    page.goto(copilot_url)
    _upload(page, "cv.pdf", "application/pdf", make_pdf(RESUME), consent=False)
    assert "tick both consent boxes" in page.get_by_role("alert").inner_text()

    _upload(page, "cv.txt", "text/plain", b"")
    assert page.get_by_role("alert").inner_text() == "The file is empty. Choose your resume file and try again."

    _upload(page, "shopping.txt", "text/plain", b"Shopping list for Saturday:\neggs\nmilk\nbread\ntomatoes\n")
    page.wait_for_url("**/talent/parsing?**")
    status = page.get_by_role("status")
    status.filter(has_text="does not look like a resume").wait_for(timeout=120_000)
    assert page.get_by_role("link", name="Upload another file").is_visible()


def test_the_welcome_page_speaks_french(page, copilot_url):
    page.goto(copilot_url + "&lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Déposez votre CV").is_visible()
    assert page.get_by_role("button", name="Déposer et trouver des offres").is_visible()
