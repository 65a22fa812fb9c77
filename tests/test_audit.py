"""The audit trail: every request leaves an event, personal data hashed, chained so tampering shows."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from cerebro_serve import cli
from cerebro_serve.services.audit import Exchange
from cerebro_serve.store.schema import audit_events


def _events(client, **params) -> list[dict]:
    body = client.get("/v1/audit", params={"limit": 1000, **params}).json()
    assert body["code"] == 200, body
    return body["data"]


def test_every_request_leaves_an_event_failed_ones_too(client, pools, admin_key) -> None:
    source, board = pools
    profile = {"source_key": source, "reference": "ada", "info": {"email": "ada@mail.example"}, "text": "Python"}
    created = client.post("/v1/profile/indexing", json=profile, headers={"X-USER-EMAIL": "recruiter@corp.example"})
    assert created.status_code == 201
    client.post("/v1/job/indexing", json={"board_key": board, "reference": "dev", "name": "Python developer"})
    scored = client.get(
        "/v1/profiles/scoring",
        params={"source_keys": json.dumps([source]), "board_key": board, "job_reference": "dev", "sort_by": "scoring"},
    ).json()
    assert client.get("/v1/profile/indexing", params={"source_key": source}).status_code == 400
    assert client.get("/v1/sources", headers={"X-API-KEY": "ask_" + "f" * 32}).status_code == 401
    assert (
        client.get(
            "/v1/profile/indexing", params={"source_key": source, "profile_email": "ada@mail.example"}
        ).status_code
        == 200
    )

    events = [event for event in reversed(_events(client)) if event["route"] not in ("/v1/source", "/v1/board")]
    seen = [(event["method"], event["route"], event["status"]) for event in events]
    assert seen == [
        ("POST", "/v1/profile/indexing", 201),
        ("POST", "/v1/job/indexing", 201),
        ("GET", "/v1/profiles/scoring", 200),
        ("GET", "/v1/profile/indexing", 400),
        ("GET", "/v1/sources", 401),
        ("GET", "/v1/profile/indexing", 200),
    ]
    written = json.dumps(events)
    assert "ada@mail.example" not in written and "recruiter@corp.example" not in written and admin_key not in written
    indexing = events[0]
    assert indexing["user"].startswith("hmac:") and indexing["parameters"]["source_key"] == source
    assert indexing["parameters"]["info"] == "<dict of 1>" and indexing["parameters"]["text"].startswith("hmac:")
    assert indexing["results"] == [[created.json()["data"]["key"], None]]
    scoring = events[2]
    assert scoring["algorithm_key"] == "cerebro-base" and scoring["algorithm_version"] == 1
    expected = [[p["key"], s] for p, (_, s) in zip(scored["data"]["profiles"], scored["data"]["predictions"])]
    assert scoring["results"] == expected and scoring["latency_us"] > 0
    by_email = events[5]["parameters"]["profile_email"]
    assert by_email == client.app.state.workspace.audit.hashed("ada@mail.example")  # findable, not readable
    assert events[4]["key_id"] != events[0]["key_id"]  # the unknown key is told apart, not stored


def test_the_trail_is_for_admin_keys_and_exports_jsonl(client, pools) -> None:
    from cerebro_serve.services.keys import KeyRing

    workspace = client.app.state.workspace
    reader = KeyRing(workspace.store, workspace.keys.admin_key).create("read")
    assert client.get("/v1/audit", headers={"X-API-KEY": reader}).json()["code"] == 403
    client.get("/v1/profile/indexing", params={"source_key": pools[0]})
    exported = client.get("/v1/audit", params={"format": "jsonl"})
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    assert all(b["previous_hash"] == a["hash"] for a, b in zip(lines, lines[1:]))
    failed = _events(client, status=400, route="/v1/profile/indexing")
    assert failed and all(event["status"] == 400 for event in failed)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_tampering_breaks_the_chain(client, pools, workspace, tmp_path, capsys) -> None:
    for _ in range(5):
        client.get("/v1/sources")
    trail = workspace.audit
    assert trail.verify().broken_at is None and trail.verify().checked >= 7
    assert cli.main(["--data-dir", str(tmp_path), "verify-audit"]) == 0
    ids = [event["id"] for event in _events(client)]
    victim = sorted(ids)[3]
    with workspace.store.engine.begin() as connection:
        row = connection.execute(sa.select(audit_events.c.event).where(audit_events.c.id == victim)).scalar_one()
        forged = row.replace('"status":200', '"status":404')
        assert forged != row
        connection.execute(audit_events.update().where(audit_events.c.id == victim).values(event=forged))
    assert trail.verify().broken_at == victim
    assert cli.main(["--data-dir", str(tmp_path), "verify-audit"]) == 1
    assert f"broken at event {victim}" in capsys.readouterr().out
    with workspace.store.engine.begin() as connection:  # put it back, then remove one instead
        connection.execute(audit_events.update().where(audit_events.c.id == victim).values(event=row))
    assert trail.verify().broken_at is None
    with workspace.store.engine.begin() as connection:
        connection.execute(audit_events.delete().where(audit_events.c.id == victim))
    assert trail.verify().broken_at == sorted(ids)[4]


def test_retention_and_a_clean_stop_keep_the_chain(workspace) -> None:
    trail = workspace.audit
    for at_us in (1_000, 2_000, 3_000_000_000_000_000):
        trail.record(Exchange(at_us, "GET", "/v1/sources", "", None, None, b"", 200, 10, b""))
    trail.close()  # writes what is queued
    assert trail.store.verify().checked == 3
    assert trail.store.prune(before_us=2_500) == 2
    assert trail.store.verify().checked == 1 and trail.store.verify().broken_at is None
