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

import uvicorn

from cerebro_serve.api import create_app
from cerebro_serve.api.protocol import EnvelopedH11Protocol
from cerebro_serve.services import Workspace
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
