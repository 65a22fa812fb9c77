"""The pages' end-to-end harness: the whole server (API and pages) on a real socket over the demo
workspace, and Debian's Chromium driven by Playwright, with every request that would leave 127.0.0.1
refused and remembered (a page must need no network)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn

from cerebro_serve.api import create_app
from cerebro_serve.api.protocol import EnvelopedH11Protocol
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import CopilotListQuery
from cerebro_serve.services.queries import JobsStoringQuery, ProfilesStoringQuery
from cerebro_serve.web import mount_pages

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screens"


@dataclass
class Site:
    base_url: str  # http://127.0.0.1:<port>
    workspace: Workspace
    admin_key: str
    source_key: str  # the demo source
    board_key: str  # the demo board


@dataclass
class Offline:
    """Requests a page tried to send anywhere but this server."""

    refused: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


def serve(workspace: Workspace, max_body_bytes: int, pages: bool = True) -> Iterator[str]:
    """The server (with its pages, unless told otherwise) on a free port; yields its base URL until the
    caller is done."""
    config = uvicorn.Config(
        create_app(workspace, max_body_bytes, on_app_init=[mount_pages] if pages else []),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        http=EnvelopedH11Protocol,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot for the README (docs/screens/<name>.png), taken as the test sees the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def copilot_urls(site) -> dict[str, str]:
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
