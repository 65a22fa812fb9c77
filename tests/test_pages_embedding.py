"""What embeds a copilot, checked in a real browser: a host site on another origin (a second server on
127.0.0.1, another port) frames the copilot's pre-signed URL, which loads when that origin is allowed
and is refused by the Content-Security-Policy's frame-ancestors when it is not; expired, changed and
revoked links and a switched-off copilot are refused; the host site's tracking pixel records a view."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest


@dataclass
class HostSite:
    """A customer's site: serves whatever HTML the test sets, from its own origin."""

    origin: str
    html: str = ""

    def show(self, body: str) -> str:
        self.html = f"<!doctype html><html><head><title>Host</title></head><body>{body}</body></html>"
        return f"{self.origin}/"


@pytest.fixture
def host() -> Iterator[HostSite]:
    site = HostSite(origin="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = site.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    thread.join(timeout=10)


def _admin(site, method: str, path: str, body: dict) -> dict:
    answer = httpx.request(method, f"{site.base_url}/v1{path}", headers={"X-API-KEY": site.admin_key}, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["data"]


def _copilot(site, title: str, origins: list[str]) -> dict:
    body = {
        "type": "talent",
        "name": title,
        "source_keys": [site.source_key],
        "board_keys": [site.board_key],
        "design": {"title": title},
        "allowed_origins": origins,
    }
    return _admin(site, "POST", "/copilot", body)


def test_an_allowed_origin_frames_the_copilot(page, site, host) -> None:
    copilot = _copilot(site, "Framed at the host", [host.origin])
    url = copilot["presigned_url"]["url"]
    page.goto(host.show(f'<h1>Host</h1><iframe src="{url}" title="Jobs" width="900" height="600"></iframe>'))
    frame = page.frame_locator("iframe")
    assert frame.get_by_role("heading", level=1).inner_text() == "Framed at the host"


def test_an_origin_not_allowed_is_refused_by_frame_ancestors(page, site, host) -> None:
    copilot = _copilot(site, "Not for this host", ["https://careers.elsewhere.example"])
    url = copilot["presigned_url"]["url"]
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(host.show(f'<h1>Host</h1><iframe src="{url}" title="Jobs" width="900" height="600"></iframe>'))
    deadline = time.monotonic() + 10
    while not any("frame-ancestors" in text for text in console) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    refusal = next(text for text in console if "frame-ancestors" in text)
    assert "https://careers.elsewhere.example" in refusal
    assert page.frame_locator("iframe").get_by_role("heading", name="Not for this host").count() == 0
    # The same URL opens on its own (a top-level page has no ancestors): only the framing was refused.
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Not for this host"


def test_expired_changed_revoked_and_switched_off_links_are_refused(page, site) -> None:
    copilot = _copilot(site, "Guarded", [])
    key = copilot["key"]
    copilots = site.workspace.copilots
    stored = copilots.get(key)
    expired = copilots.signer.sign("page", {"c": key, "g": stored.generation}, int(time.time()) - 5)
    response = page.goto(f"/copilot/{key}?access={expired}")
    assert response.status == 401 and "expired" in page.get_by_role("alert").inner_text()
    for_another = copilots.access_token(copilots.get(_copilot(site, "Another", [])["key"]), int(time.time()) + 600)
    response = page.goto(f"/copilot/{key}?access={for_another}")
    assert response.status == 401 and "not valid" in page.get_by_role("alert").inner_text()
    url = copilot["presigned_url"]["url"]
    mac = url.split("access=")[1].split(".")[1]
    changed_claims = json.dumps({"c": key, "g": stored.generation, "exp": int(time.time()) + 10**7})
    forged = base64.urlsafe_b64encode(changed_claims.encode()).decode().rstrip("=") + "." + mac
    response = page.goto(f"/copilot/{key}?access={forged}")
    assert response.status == 401 and "not valid" in page.get_by_role("alert").inner_text()
    assert page.goto(url).status == 200
    _admin(site, "POST", "/copilot/disable", {"key": key})
    response = page.goto(url)
    assert response.status == 403 and "switched off" in page.get_by_role("alert").inner_text()
    _admin(site, "POST", "/copilot/disable", {"key": key, "disabled": False})
    assert page.goto(url).status == 200
    _admin(site, "POST", "/copilot/revoke", {"key": key})
    response = page.goto(url)
    assert response.status == 401 and "revoked" in page.get_by_role("alert").inner_text()
    fresh = _admin(site, "POST", "/copilot/url", {"key": key, "expires_in": 600})["url"]
    assert page.goto(fresh).status == 200


def test_the_host_sites_pixel_records_a_view(page, site, host) -> None:
    copilot = _copilot(site, "Pixel", [host.origin])
    headers = {"X-API-KEY": site.admin_key}
    profiles = httpx.get(
        f"{site.base_url}/v1/profiles/searching",
        params={"source_keys": json.dumps([site.source_key]), "limit": 1},
        headers=headers,
    )
    jobs = httpx.get(
        f"{site.base_url}/v1/jobs/searching",
        params={"board_keys": json.dumps([site.board_key]), "limit": 1},
        headers=headers,
    )
    profile_key = profiles.json()["data"]["profiles"][0]["key"]
    job_key = jobs.json()["data"]["jobs"][0]["key"]
    pixel = _admin(
        site, "POST", "/copilot/pixel", {"key": copilot["key"], "profile_key": profile_key, "job_key": job_key}
    )
    query = {"role": "candidate", "source_key": site.source_key, "profile_key": profile_key}
    query |= {"board_key": site.board_key, "job_key": job_key}
    before = httpx.get(f"{site.base_url}/v1/trackings", params=query, headers=headers)
    assert before.status_code == 200, before.text
    page.goto(host.show(f'<p>Job ad</p><img id="pixel" src="{pixel["url"]}" alt="" width="1" height="1">'))
    page.wait_for_function("() => document.getElementById('pixel').complete")
    assert page.evaluate("document.getElementById('pixel').naturalWidth") == 1
    listed = httpx.get(f"{site.base_url}/v1/trackings", params=query, headers=headers).json()
    assert listed["meta"]["total"] == before.json()["meta"]["total"] + 1
    assert [item["action"] for item in listed["data"]].count("view") >= 1
