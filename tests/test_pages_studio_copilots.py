"""The Studio's workspace overview and Copilots pages in a real browser: the demo workspace's pools, queue
and API traffic at a glance; a copilot set up from the form (with a logo uploaded and mistakes shown on
the form), previewed live, embedded with a pre-signed URL of a chosen expiry, switched off and revoked."""

from __future__ import annotations

import re
import time

import httpx
from browser import screenshot
from playwright.sync_api import expect

from cerebro_serve.objects import PROFILE

# The smallest valid PNG (1x1, transparent).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def sign_in(page, site, target: str) -> None:
    page.goto(f"/studio/sign-in?next={target}")
    page.get_by_label("Admin key").fill(site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{target}**")


def wait_until_audited(workspace, route: str, timeout: float = 10) -> None:
    """The live server records an exchange after its answer is sent, so the client can be told before
    the trail is: flush until the route's event is stored."""
    deadline = time.monotonic() + timeout
    while True:
        workspace.audit.flush()
        if any(event.route == route for event in workspace.audit.recent(20)):
            return
        assert time.monotonic() < deadline, f"{route} was never recorded"
        time.sleep(0.05)


def test_the_overview_shows_pools_queue_activity_and_traffic(page, site) -> None:
    answer = httpx.get(f"{site.base_url}/v1/sources", params={"limit": 5}, headers={"X-API-KEY": site.admin_key})
    assert answer.status_code == 200
    wait_until_audited(site.workspace, "/v1/sources")
    sign_in(page, site, "/studio/overview")
    sources = page.get_by_role("table", name=re.compile("Sources of profiles"))
    demo = site.workspace.pools.get(PROFILE, site.source_key)
    assert sources.get_by_role("row", name=re.compile(demo.name)).inner_text().split("\t")[-1].strip() == "200"
    boards = page.get_by_role("table", name=re.compile("Boards of jobs"))
    assert "50" in boards.inner_text()
    queue = site.workspace.parsing.queue.counts()
    assert page.locator("#parsing-queue dd").all_inner_texts() == [
        str(queue[state]) for state in ("queued", "running", "failed", "succeeded")
    ]
    activity = page.get_by_role("table", name="The latest API requests, newest first")
    assert activity.get_by_role("row", name="/v1/sources").first.inner_text().count("200") >= 1
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() == 2
    label = charts.first.get_attribute("aria-label")
    assert label.startswith("API requests per hour") and re.search(r"[1-9]", label.split(".", 1)[1])
    screenshot(page, "studio-overview")
    page.goto("/studio/overview?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Espace de travail"
    assert page.get_by_role("heading", name="Activité récente").is_visible()


def test_a_copilot_is_set_up_previewed_embedded_switched_off_and_revoked(page, site) -> None:
    sign_in(page, site, "/studio/copilots")
    page.get_by_role("link", name="New copilot").click()
    page.get_by_label("Name", exact=True).fill("Studio careers")
    page.get_by_label("Title").fill("Careers at Studio Corp")
    page.get_by_role("button", name="Create the copilot").click()
    assert "choose at least one source" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Name", exact=True).input_value() == "Studio careers"  # what was typed is kept
    demo_source = page.locator(f"#source-{site.source_key}")
    demo_source.check()
    page.locator(f"#board-{site.board_key}").check()
    page.get_by_label("Sites allowed to embed it", exact=False).fill("https://careers.studio.example/jobs")
    page.get_by_role("button", name="Create the copilot").click()
    assert "allowed_origins" in page.get_by_role("alert").inner_text()
    page.get_by_label("Sites allowed to embed it", exact=False).fill("https://careers.studio.example")
    page.locator("#logo").set_input_files({"name": "logo.txt", "mimeType": "text/plain", "buffer": b"not an image"})
    page.locator(f"#source-{site.source_key}").check()
    page.locator(f"#board-{site.board_key}").check()
    page.get_by_role("button", name="Create the copilot").click()
    assert "the logo must be a PNG" in page.get_by_role("alert").inner_text()
    page.locator(f"#source-{site.source_key}").check()
    page.locator(f"#board-{site.board_key}").check()
    page.locator("#logo").set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="Create the copilot").click()
    page.wait_for_url(re.compile(r"/studio/copilots/cop_[0-9a-f]+"))
    key = page.url.split("/studio/copilots/")[1].split("?")[0]
    copilot = site.workspace.copilots.get(key)
    assert copilot.settings.design.logo.startswith("data:image/png;base64,")
    assert copilot.settings.allowed_origins == ["https://careers.studio.example"]
    preview = page.frame_locator("#copilot-preview")
    assert preview.get_by_role("heading", level=1).inner_text() == "Careers at Studio Corp"
    page.get_by_label("Main colour").fill("#7c2d12")  # the preview follows before saving
    colour = preview.locator("html").evaluate("e => getComputedStyle(e).getPropertyValue('--primary').trim()")
    assert colour == "#7c2d12"
    page.get_by_label("Title").fill("Join Studio Corp")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text().startswith("Changes saved")
    assert preview.get_by_role("heading", level=1).inner_text() == "Join Studio Corp"
    assert site.workspace.copilots.get(key).settings.design.primary_colour == "#7c2d12"
    screenshot(page, "studio-copilot-edit")

    page.get_by_label("Link valid for").select_option(label="1 hour")
    page.get_by_role("button", name="Mint a pre-signed URL").click()
    url = page.get_by_label("Pre-signed URL").input_value()
    assert url.startswith(f"{site.base_url}/copilot/{key}?access=")
    assert f'src="{url}"' in page.get_by_label("Iframe snippet for your site").input_value()
    _, expires_at = site.workspace.copilots.open(key, url.split("access=")[1])
    assert 3500 < expires_at - time.time() <= 3600
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the URL").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")  # the clipboard answers asynchronously
    assert page.evaluate("navigator.clipboard.readText()") == url

    page.get_by_role("button", name="Switch off").click()
    assert "switched off" in page.get_by_role("status").inner_text()
    assert httpx.get(url).status_code == 403
    page.get_by_role("button", name="Switch on").click()
    assert httpx.get(url, follow_redirects=True).status_code == 200
    page.get_by_role("button", name="Revoke every link").click()
    assert httpx.get(url).status_code == 401
    assert preview.get_by_role("heading", level=1).inner_text() == "Join Studio Corp"  # the preview is signed anew

    page.get_by_role("link", name="All copilots").click()
    row = page.get_by_role("row", name=re.compile("Studio careers"))
    assert "Talent" in row.inner_text() and "Workspace default" in row.inner_text()
    screenshot(page, "studio-copilots")


def test_an_unknown_copilot_is_a_404_page(page, site) -> None:
    sign_in(page, site, "/studio/copilots")
    response = page.goto("/studio/copilots/cop_000000000000000000000000")
    assert response.status == 404
    assert "no copilot cop_000" in page.get_by_role("alert").inner_text()
