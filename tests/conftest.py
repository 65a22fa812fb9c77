"""Shared fixtures: one real encoder per session, stores on SQLite and PostgreSQL, apps and live servers."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser import CHROMIUM, CHROMIUM_ARGS, Offline, Site, serve
from helpers import SETTINGS, make_batcher, make_workspace, stop_workspace, wait_for_training

from cerebro_serve.engine import load_encoder
from cerebro_serve.services import Workspace
from cerebro_serve.services.keys import new_key
from cerebro_serve.store import SqlStore

DROP_ATTEMPTS = 5
POSTGRES_URL = os.environ.get("CEREBRO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def encoder():
    return load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")


@pytest.fixture(scope="session")
def batcher(encoder):
    """What a server's workspace embeds through: the dynamic batcher over the encoder."""

    batcher = make_batcher(encoder)
    yield batcher
    batcher.close()


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error).splitlines()[0]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CEREBRO_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}")
    schema = f"cerebro_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    for attempt in range(DROP_ATTEMPTS):  # a connection a test leaked may still hold a lock for a moment
        try:
            with admin.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            break
        except sa.exc.OperationalError:
            if attempt == DROP_ATTEMPTS - 1:
                raise
            time.sleep(1)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cerebro.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    store = SqlStore(store_url)
    yield store
    store.close()


@pytest.fixture
def admin_key() -> str:
    return new_key("all")


@pytest.fixture
def workspace(store: SqlStore, batcher, tmp_path: Path, admin_key: str) -> Iterator[Workspace]:
    workspace = make_workspace(store, batcher, tmp_path / "indexes", admin_key)
    yield workspace
    stop_workspace(workspace)


@pytest.fixture
def client(workspace: Workspace, admin_key: str):
    from litestar.testing import TestClient

    from cerebro_serve.api import create_app

    app = create_app(workspace, max_body_bytes=256 * 1024)
    with TestClient(app, base_url="http://testserver.local") as test_client:
        test_client.headers["X-API-KEY"] = admin_key
        yield test_client


@pytest.fixture
def pools(client) -> tuple[str, str]:
    """A source and a board, made through the API (test_sdk makes its own through the SDK)."""
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    return source, board


@pytest.fixture
def live_server(workspace: Workspace) -> Iterator[str]:
    """The API on a real socket, for the hrflow SDK (which speaks plain `requests`)."""
    for base_url in serve(workspace, SETTINGS.max_body_bytes, pages=False):
        yield f"{base_url}/v1/"


@pytest.fixture(scope="session")
def site(batcher, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The whole server (API and pages) over the demo workspace on SQLite, shared by the browser tests."""
    from cerebro_serve.demo import load_demo
    from cerebro_serve.demo.loader import DEMO_BOARD, DEMO_SOURCE
    from cerebro_serve.services.queries import AlgorithmListQuery

    directory = tmp_path_factory.mktemp("site")
    store = SqlStore(f"sqlite:///{directory / 'cerebro.db'}")
    admin_key = new_key("all")
    workspace = make_workspace(store, batcher, directory / "indexes", admin_key)
    load_demo(workspace)
    [demo_algorithm] = workspace.algorithms.list(AlgorithmListQuery()).items
    wait_for_training(workspace, demo_algorithm["key"])  # the pages are tested on a settled server
    [source], _ = store.pools.list_pools("source", DEMO_SOURCE, 0, 1, True)
    [board], _ = store.pools.list_pools("board", DEMO_BOARD, 0, 1, True)
    for base_url in serve(workspace, SETTINGS.max_body_bytes):
        yield Site(base_url, workspace, admin_key, source.key, board.key)
    workspace.training.worker.stop()
    workspace.fairness.worker.stop()
    workspace.recorder.close()
    store.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, site: Site) -> Iterator[Any]:
    """A fresh browser tab on the site; the test fails if a page tried to reach any other host."""
    context = chromium.new_context(base_url=site.base_url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    offline = Offline()
    context.route("**/*", offline.route)
    tab = context.new_page()
    yield tab
    context.close()
    assert offline.refused == [], f"pages tried to reach the network: {offline.refused}"
