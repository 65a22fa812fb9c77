"""`Server-Timing` on API answers (api/server_timing.py, cerebro_serve.timing): a scoring call names the
stages it went through and its total; garbage collections on a request's thread are a stage of their own."""

from __future__ import annotations

import gc
import json
import re

import pytest
from helpers import python_and_php_pair

from cerebro_serve.timing import stage, timed_request


def _stages(header: str) -> dict[str, float]:
    return {name: float(ms) for name, ms in re.findall(r"([a-z]+);dur=([0-9.]+)", header)}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the stores are covered by their own tests
def test_a_scoring_answer_says_where_its_time_went(client) -> None:
    pair = python_and_php_pair(client)
    query = {
        "source_keys": json.dumps([pair["source"]]),
        "board_key": pair["board"],
        "job_key": pair["job"],
        "sort_by": "scoring",
    }
    answer = client.get("/v1/profiles/scoring", params=query)
    assert answer.status_code == 200, answer.text
    stages = _stages(answer.headers["server-timing"])
    assert {"filter", "anchor", "mask", "retrieve", "rerank", "load", "total"} <= stages.keys()
    assert sum(ms for name, ms in stages.items() if name != "total") <= stages["total"]
    assert "server-timing" not in client.get("/healthz").headers  # API answers only


def test_stages_add_up_and_collections_are_their_own_stage() -> None:
    with stage("ignored"):  # outside a request: nothing to add to
        pass
    with timed_request() as stages:
        with stage("work"):
            pass
        with stage("work"):
            gc.collect()
    assert set(stages) == {"gc", "work"} and stages["work"] >= stages["gc"] > 0
