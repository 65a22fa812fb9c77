"""The copilots' API: admins set copilots up, list, edit, switch off and revoke them, and mint the URLs
that embed them; what is wrong in a request is a 400/404 envelope that says what, before anything is
stored."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import httpx
import pytest

from cerebro_serve.services import Workspace

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


@pytest.fixture
def body(pools: tuple[str, str]) -> dict:
    source, board = pools
    return {"type": "talent", "name": "Careers", "source_keys": [source], "board_keys": [board]}


def test_a_copilot_is_created_read_listed_and_edited(client, body: dict) -> None:
    created = client.post("/v1/copilot", json={**body, "design": {"title": "Acme", "logo": PNG}})
    assert created.status_code == 201, created.text
    copilot = created.json()["data"]
    assert copilot["key"].startswith("cop_") and copilot["design"]["logo"] == PNG and copilot["disabled"] is False
    assert copilot["presigned_url"]["url"].startswith(f"http://testserver.local/copilot/{copilot['key']}?access=")
    got = client.get("/v1/copilot", params={"key": copilot["key"]}).json()["data"]
    assert got["name"] == "Careers" and got["source_keys"] == body["source_keys"]
    for number in range(2):
        assert client.post("/v1/copilot", json={**body, "name": f"More {number}"}).status_code == 201
    first = client.get("/v1/copilots", params={"limit": 2, "page": 1}).json()
    second = client.get("/v1/copilots", params={"limit": 2, "page": 2}).json()
    assert first["meta"]["total"] == 3 and first["meta"]["maxPage"] == 2
    assert [c["name"] for c in first["data"] + second["data"]] == ["More 1", "More 0", "Careers"]
    edited = client.put(
        "/v1/copilot",
        json={"key": copilot["key"], "name": "Jobs at Acme", "allowed_origins": ["https://jobs.acme.example"]},
    )
    assert edited.status_code == 200, edited.text
    data = edited.json()["data"]
    assert data["name"] == "Jobs at Acme" and data["allowed_origins"] == ["https://jobs.acme.example"]
    assert data["design"]["title"] == "Acme"  # fields not given stay as they were
    chosen = client.put("/v1/copilot", json={"key": copilot["key"], "algorithm_key": "cerebro-base"}).json()["data"]
    assert chosen["algorithm_key"] == "cerebro-base" and chosen["name"] == "Jobs at Acme"
    reset = client.put("/v1/copilot", json={"key": copilot["key"], "algorithm_key": None}).json()["data"]
    assert reset["algorithm_key"] is None  # null: the workspace default answers again


def test_switching_off_revoking_and_minting_urls(client, workspace: Workspace, body: dict) -> None:
    key = client.post("/v1/copilot", json=body).json()["data"]["key"]
    off = client.post("/v1/copilot/disable", json={"key": key})
    assert (
        off.status_code == 200
        and off.json()["data"]["disabled"] is True
        and off.json()["message"] == "Copilot disabled"
    )
    on = client.post("/v1/copilot/disable", json={"key": key, "disabled": False})
    assert on.json()["data"]["disabled"] is False and on.json()["message"] == "Copilot enabled"
    minted = client.post("/v1/copilot/url", json={"key": key, "expires_in": 3600})
    assert minted.status_code == 201
    url = httpx.URL(minted.json()["data"]["url"])
    copilot, expires_at = workspace.copilots.open(key, url.params["access"])
    assert copilot.key == key and 3590 < expires_at - time.time() <= 3600
    said = minted.json()["data"]["expires_at"]
    assert said.startswith(datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    assert client.post("/v1/copilot/revoke", json={"key": key}).status_code == 200
    with pytest.raises(Exception, match="revoked"):
        workspace.copilots.open(key, url.params["access"])
    too_long = client.post("/v1/copilot/url", json={"key": key, "expires_in": 400 * 86_400})
    assert too_long.status_code == 400 and "expires_in" in too_long.json()["message"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"source_keys": ["0" * 40]}, "Unable to find object: source"),
        ({"board_keys": ["0" * 40]}, "Unable to find object: board"),
        ({"design": {"logo": "https://cdn.example/logo.png"}}, "matching regex '^data:image/(png|jpeg|gif|webp|svg"),
        ({"allowed_origins": ["https://acme.example/careers"]}, "allowed_origins"),
        ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins"),
        ({"type": "manager"}, "`type`"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_stored(client, body: dict, change: dict, said: str) -> None:
    answer = client.post("/v1/copilot", json={**body, **change})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 400 and said in answer.json()["message"]
    assert client.get("/v1/copilots").json()["meta"]["total"] == 0


def test_an_unknown_copilot_is_404_and_other_keys_are_refused(client, workspace: Workspace, body: dict) -> None:
    for method, path, payload in (
        ("GET", "/v1/copilot?key=cop_000000000000000000000000", None),
        ("PUT", "/v1/copilot", {"key": "cop_000000000000000000000000", "name": "x"}),
        ("POST", "/v1/copilot/disable", {"key": "cop_000000000000000000000000"}),
        ("POST", "/v1/copilot/revoke", {"key": "cop_000000000000000000000000"}),
        ("POST", "/v1/copilot/url", {"key": "cop_000000000000000000000000"}),
    ):
        answer = client.request(method, path, json=payload)
        assert answer.status_code == 404 and "no copilot cop_000" in answer.json()["message"], (path, answer.text)
    key = client.post("/v1/copilot", json=body).json()["data"]["key"]
    for permission in ("read", "write"):
        headers = {"X-API-KEY": workspace.keys.create(permission)}
        for method, path, payload in (
            ("GET", f"/v1/copilot?key={key}", None),
            ("GET", "/v1/copilots", None),
            ("POST", "/v1/copilot", body),
            ("POST", "/v1/copilot/url", {"key": key}),
        ):
            answer = client.request(method, path, json=payload, headers=headers)
            assert answer.status_code == 403 and "admin keys (ask_) only" in answer.json()["message"], path
