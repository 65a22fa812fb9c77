"""Keys do only what they are for: every route declares its permission, every key type meets it or gets a
403, and a write-only key hears the key of what it wrote, nothing of what is stored."""

from __future__ import annotations

import pytest
from helpers import PYTHON_JOB, PYTHON_RESUME, make_pdf, profile

from cerebro_serve.services import Workspace


def _routes(client) -> list[tuple[str, str, str | None]]:
    """(method, path, declared permission) of every /v1 route but Litestar's own OPTIONS answers."""
    found = []
    for route in client.app.routes:
        if not route.path.startswith("/v1/"):
            continue
        for method, handler in route.route_handler_map.items():
            if method != "OPTIONS":
                found.append((method, route.path, handler[0].opt.get("permission")))
    return sorted(found)


def test_every_route_declares_its_permission(client) -> None:
    routes = _routes(client)
    assert len(routes) > 50
    undeclared = [(method, path) for method, path, permission in routes if permission not in ("read", "write")]
    # The trail, protected attributes, the release gate's override, the kill switch and the copilots (which
    # hand out access to people without a key) are for admin keys.
    assert undeclared == [
        ("GET", "/v1/audit"),
        ("GET", "/v1/copilot"),
        ("GET", "/v1/copilots"),
        ("GET", "/v1/fairness/attributes"),
        ("POST", "/v1/algorithm/release"),
        ("POST", "/v1/algorithm/restore"),
        ("POST", "/v1/algorithm/stop"),
        ("POST", "/v1/copilot"),
        ("POST", "/v1/copilot/disable"),
        ("POST", "/v1/copilot/pixel"),
        ("POST", "/v1/copilot/revoke"),
        ("POST", "/v1/copilot/token"),
        ("POST", "/v1/copilot/url"),
        ("PUT", "/v1/copilot"),
    ]


@pytest.mark.parametrize("key_type", ["read", "write", "all"])
def test_each_key_type_meets_each_route_as_declared(client, workspace: Workspace, key_type: str) -> None:
    """Every route, called with no parameters: a key without the permission gets 403 before anything runs;
    a key with it gets past the guard (the route's own 400 for missing parameters), and nothing is a 500."""
    key = workspace.keys.create(key_type) if key_type != "all" else client.headers["X-API-KEY"]
    for method, path, permission in _routes(client):
        response = client.request(method, path, headers={"X-API-KEY": key})
        allowed = key_type == "all" or key_type == permission
        assert response.status_code < 500, (method, path, response.text)
        if allowed:
            assert response.status_code != 403, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.status_code)
            said = "admin keys (ask_) only" if permission == "all" else f"{key_type}-only"
            assert said in response.json()["message"]


def test_a_route_without_a_declared_permission_is_for_admin_keys_only(client, workspace: Workspace) -> None:
    from litestar import get

    from cerebro_serve.api.auth import require_key

    @get("/v1/undeclared", guards=[require_key], sync_to_thread=False)
    def undeclared() -> dict[str, str]:
        return {"ok": "yes"}

    client.app.register(undeclared)
    for key_type in ("read", "write"):
        response = client.get("/v1/undeclared", headers={"X-API-KEY": workspace.keys.create(key_type)})
        assert response.status_code == 403 and "admin keys" in response.json()["message"]
    assert client.get("/v1/undeclared").status_code == 200  # the admin key


def test_write_only_answers_carry_the_key_and_nothing_stored(client, workspace: Workspace, pools) -> None:
    source, board = pools
    writer = {"X-API-KEY": workspace.keys.create("write")}
    body = profile(PYTHON_RESUME, source_key=source, reference="cand-1")
    body["info"]["email"] = "jane@example.com"
    created = client.post("/v1/profile/indexing", json=body, headers=writer)
    assert created.status_code == 201
    key = created.json()["data"]["key"]
    assert created.json()["data"] == {"key": key}

    # A PUT that changes nothing used to return the whole stored record (name, email, text).
    edited = client.put("/v1/profile/indexing", json={"source_key": source, "reference": "cand-1"}, headers=writer)
    assert edited.status_code == 200 and edited.json()["data"] == {"key": key}

    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}, headers=writer)
    assert job.status_code == 201 and set(job.json()["data"]) == {"key"}
    rating = client.post(
        "/v1/rating",
        json={
            "score": 1.0,
            "role": "recruiter",
            "source_key": source,
            "board_key": board,
            "profile_reference": "cand-1",
            "job_key": job.json()["data"]["key"],
        },
        headers=writer,
    )
    assert rating.status_code == 201 and set(rating.json()["data"]) == {"key"}

    pdf = make_pdf([[PYTHON_RESUME]])
    parsed = client.post(
        "/v1/profile/parsing/file",
        data={"source_key": source, "sync_parsing": "1"},
        files={"file": ("cv.pdf", pdf, "application/pdf")},
        headers=writer,
    )
    assert parsed.status_code == 201 and set(parsed.json()["data"]) == {"key"}

    # The admin key still gets the full answer.
    full = client.put("/v1/profile/indexing", json={"source_key": source, "reference": "cand-1"})
    assert full.json()["data"]["info"]["email"] == "jane@example.com"


def test_a_write_only_key_cannot_ask_whether_an_email_is_in_a_pool(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    body = profile(PYTHON_RESUME, source_key=source, reference="cand-1")
    body["info"]["email"] = "jane@example.com"
    assert client.post("/v1/profile/indexing", json=body).status_code == 201
    writer = {"X-API-KEY": workspace.keys.create("write")}

    for email in ("jane@example.com", "nobody@example.com"):  # the same answer whether she is there or not
        archived = client.patch(
            "/v1/profile/indexing/archive", json={"source_key": source, "profile_email": email}, headers=writer
        )
        assert archived.status_code == 403
        assert "by `key` or `reference`" in archived.json()["message"]

    by_reference = client.patch(
        "/v1/profile/indexing/archive", json={"source_key": source, "reference": "cand-1"}, headers=writer
    )
    assert by_reference.status_code == 200 and set(by_reference.json()["data"]) == {"key"}
    by_email = client.patch(  # an admin key may
        "/v1/profile/indexing/archive",
        json={"source_key": source, "profile_email": "jane@example.com", "is_archive": 0},
    )
    assert by_email.status_code == 200
