"""Admission control for the API (api/admission.py): a bounded number of requests at work, a short line
served first come first served, and a prompt 429 with Retry-After for the rest; probes pass untouched."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import TestClient

from cerebro_serve.api import create_app
from cerebro_serve.api.admission import Admission, AdmissionLimits


def test_the_line_is_first_come_first_served_bounded_and_timed() -> None:
    async def scenario() -> None:
        line = Admission(AdmissionLimits(max_active=1, max_waiting=2, max_wait_seconds=0.5))
        assert await line.enter()  # the one slot
        second = asyncio.ensure_future(line.enter())
        third = asyncio.ensure_future(line.enter())
        await asyncio.sleep(0.01)
        assert line.waiting == 2 and not second.done()
        assert not await line.enter()  # the line is full: refused at once
        line.leave()  # the slot goes to the first in line
        assert await second and not third.done() and line.active == 1
        line.leave()
        assert await third
        line.leave()
        assert line.active == 0 and line.waiting == 0 and line.refused == 1

    asyncio.run(scenario())


def test_a_request_that_waits_too_long_is_refused_and_one_that_leaves_frees_its_place() -> None:
    async def scenario() -> None:
        line = Admission(AdmissionLimits(max_active=1, max_waiting=5, max_wait_seconds=0.05))
        assert await line.enter()
        assert not await line.enter()  # nobody left in 50 ms
        gone = asyncio.ensure_future(line.enter())
        await asyncio.sleep(0.01)
        gone.cancel()  # its client disconnected while it waited
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert line.waiting == 0
        line.leave()
        assert line.active == 0 and line.refused == 1
        assert await line.enter()  # the slot is free again

    asyncio.run(scenario())


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the stores are covered by their own tests
def test_the_api_answers_429_with_retry_after_while_probes_and_metrics_pass(workspace, admin_key: str) -> None:
    line = Admission(AdmissionLimits(max_active=1, max_waiting=0, max_wait_seconds=0.1))
    assert asyncio.run(line.enter())  # its one slot taken: every API request is refused
    app = create_app(workspace, 1024 * 1024, admission=line)
    with TestClient(app, base_url="http://testserver.local") as client:
        refused = client.get("/v1/profiles/searching", headers={"X-API-KEY": admin_key})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "application/json"
        assert refused.json()["code"] == 429 and refused.json()["message"].startswith("Too Many Requests.")
        assert refused.headers["x-request-id"]  # the id tags refusals too
        assert client.get("/healthz").status_code == 200
        exposition = client.get("/metrics", headers={"X-API-KEY": admin_key}).text
        assert (
            "cerebro_api_refused_total 1.0" in exposition and "cerebro_api_active_requests 1.0" in exposition
        )  # the slot taken above
