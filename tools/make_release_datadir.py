"""Make the data dir this release leaves behind, so that the next releases' code is tested against it.

Users upgrade data dirs that older releases made. Each release runs this script once, from a clean
checkout of its tag, and commits what it writes, `tests/data/releases/<version>-schema<N>/`:

- `datadir.tar.xz`: a SQLite data dir as `cerebro-serve serve` leaves it after a stop (the store, the
  generated admin key, the pools' index files), made through the API by this release's code;
- `expected.json`: what is in it and what this release answered about it (rankings and scores).

`tests/test_release_upgrade.py` opens every data dir found there with the code under test, through the
server's start path (the store's migrations run), and checks that every record, feedback event,
algorithm version, key and copilot survived and that scoring and searching rank as this release did. A
released data dir is history: the script refuses to write over one.

The data dir holds a source with profiles (one archived, some with protected attributes), a board with
jobs, ratings and a tracking, a second source and board whose ratings train an algorithm forked from
`cerebro-trainable` (version 2 is trained), a read key, a talent and a recruiter copilot, and the audit
trail these calls left. It is made with the bundled encoder on the CPU in float32, as the tests run it,
so the rankings recorded are the ones the test reproduces.

    git archive v0.2.0 | tar -x -C /tmp/release
    python -m venv /tmp/release-venv && /tmp/release-venv/bin/pip install /tmp/release  # that release's code
    /tmp/release-venv/bin/python /tmp/release/tools/make_release_datadir.py \\
        --commit "$(git rev-parse v0.2.0)" --out tests/data/releases
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from cerebro_serve import __version__
from cerebro_serve.api import create_app
from cerebro_serve.cli import build_workspace
from cerebro_serve.settings import Settings
from cerebro_serve.store.schema import MIGRATIONS

RELEASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "releases"
PARIS = {"text": "Paris", "lat": 48.8566, "lng": 2.3522}
LYON = {"text": "Lyon", "lat": 45.764, "lng": 4.8357}
# reference: (resume, skills, where); every resume differs, so no two profiles tie in a ranking.
PROFILES = {
    "python-senior": (
        "Senior Python backend engineer. Eight years building REST APIs with Django and FastAPI, PostgreSQL "
        "query tuning, Docker and Kubernetes deployments on AWS.",
        ["Python", "Django", "PostgreSQL", "Docker"],
        PARIS,
    ),
    "python-junior": (
        "Junior developer: two years of Python scripts, Flask prototypes and SQL reports.",
        ["Python", "Flask", "SQL"],
        LYON,
    ),
    "data-engineer": (
        "Data engineer: Spark and Airflow pipelines in Python, dbt models, a PostgreSQL warehouse.",
        ["Python", "Apache Spark", "Airflow"],
        PARIS,
    ),
    "icu-nurse": (
        "Registered nurse in an intensive care unit: patient assessment, IV therapy, triage, ACLS.",
        ["Nursing", "Triage"],
        LYON,
    ),
    "head-chef": (
        "Head chef of a seafood restaurant: menu design, kitchen brigade management, food safety.",
        ["Cooking", "Menu planning"],
        PARIS,
    ),
    "accountant": (
        "Chartered accountant: IFRS financial statements, audits, tax returns, SAP reconciliations.",
        ["Accounting", "SAP"],
        LYON,
    ),
    "left-the-market": (
        "Java developer, Spring Boot services and Oracle databases.",
        ["Java", "Spring"],
        PARIS,
    ),
}
JOBS = {
    "python-backend": (
        "Senior Python Backend Engineer",
        "Build and run our Django REST APIs on Kubernetes from Paris. 5+ years of Python, PostgreSQL, Docker.",
        ["Python", "Django"],
    ),
    "icu-nurse": (
        "ICU nurse",
        "Intensive care nurse for night shifts in a Paris hospital: triage, ventilated patients, ACLS.",
        ["Nursing"],
    ),
    "sous-chef": ("Sous-chef", "Run the kitchen brigade of a Paris brasserie; seafood a plus.", ["Cooking"]),
}
ATTRIBUTES = [
    {"profile_reference": "python-senior", "gender": "female", "age_band": "35-44", "ethnicity": "a"},
    {"profile_reference": "python-junior", "gender": "male", "age_band": "18-24", "ethnicity": "b"},
    {"profile_reference": "icu-nurse", "gender": "female", "age_band": "25-34"},
    {"profile_reference": "head-chef", "gender": "male", "age_band": "45-54", "ethnicity": "a"},
]
HISTORY_JOBS = 8  # Paris openings, each rated on 2 Paris and 2 Lyon candidates: recruiters hire locally
HISTORY_RESUME = "Python developer building Django REST APIs with PostgreSQL for six years."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RELEASES, help="where release data dirs live")
    parser.add_argument(
        "--commit", help="the commit the checkout is of (a `git archive` has no .git), kept in expected.json"
    )
    args = parser.parse_args(argv)
    target = args.out / f"{__version__}-schema{len(MIGRATIONS)}"
    if target.exists():
        print(f"{target} exists: a released data dir is never made again", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        expected = {"commit": args.commit, **make_data_dir(data_dir)}
        target.mkdir(parents=True)
        pack(data_dir, target / "datadir.tar.xz")
    (target / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    size = sum(path.stat().st_size for path in target.iterdir())
    print(f"wrote {target} ({size // 1024} KiB)")
    return 0


def settings_for(data_dir: Path) -> Settings:
    """The server's defaults, on the CPU in float32: the tests' encoder, so its answers are reproducible."""
    return Settings(data_dir=data_dir, device="cpu", precision="float32")


def make_data_dir(data_dir: Path) -> dict[str, Any]:
    """Fill a data dir through the API, then stop the server the way `serve` does (indexes saved)."""
    workspace, batcher = build_workspace(settings_for(data_dir))
    admin_key = (data_dir / "api_key").read_text().strip()
    try:
        with TestClient(create_app(workspace, 10 * 1024 * 1024), base_url="http://release.local") as client:
            client.headers["X-API-KEY"] = admin_key
            made = populate(client)
            made["read_key"] = workspace.keys.create("read")
            expected = {"made": made, "inventory": inventory(client, made), "answers": answers(client, made)}
        expected["audit_events"] = workspace.store.audit.verify().checked  # the app's shutdown flushed the trail
    finally:
        batcher.close()  # the app's shutdown closed the workspace: its indexes are on disk
    return {"version": __version__, "schema_version": len(MIGRATIONS), "admin_key": admin_key, **expected}


def call(client: TestClient, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = client.request(method, f"/v1/{path}", **kwargs)
    if response.status_code != status:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


def populate(client: TestClient) -> dict[str, Any]:
    source = call(client, "POST", "source", 201, json={"name": "Candidates"})["data"]["key"]
    board = call(client, "POST", "board", 201, json={"name": "Openings"})["data"]["key"]
    for reference, (text, skills, where) in PROFILES.items():
        body = {
            "source_key": source,
            "reference": reference,
            "text": text,
            "info": {"full_name": reference.replace("-", " ").title(), "location": where},
            "skills": [{"name": name, "type": "hard"} for name in skills],
            "tags": [{"name": "pipeline", "value": "2024"}],
        }
        call(client, "POST", "profile/indexing", 201, json=body)
    for reference, (name, summary, skills) in JOBS.items():
        body = {
            "board_key": board,
            "reference": reference,
            "name": name,
            "summary": summary,
            "skills": [{"name": skill, "type": "hard"} for skill in skills],
            "location": PARIS,
        }
        call(client, "POST", "job/indexing", 201, json=body)
    archive = {"source_key": source, "reference": "left-the-market", "is_archive": True}
    call(client, "PATCH", "profile/indexing/archive", json=archive)
    call(client, "POST", "fairness/attributes", json={"source_key": source, "attributes": ATTRIBUTES})
    pair = {"source_key": source, "board_key": board, "profile_reference": "python-senior"}
    call(
        client, "POST", "rating", 201, json={**pair, "job_reference": "python-backend", "role": "recruiter", "score": 1}
    )
    call(client, "POST", "rating", 201, json={**pair, "job_reference": "sous-chef", "role": "recruiter", "score": 0})
    tracking = {**pair, "job_reference": "python-backend", "role": "candidate", "action": "applied"}
    call(client, "POST", "tracking", 201, json=tracking)
    history_source, history_board, algorithm = train(client)
    copilots = [
        call(
            client,
            "POST",
            "copilot",
            201,
            json={"type": kind, "name": name, "source_keys": [source], "board_keys": [board]},
        )["data"]["key"]
        for kind, name in (("talent", "Careers"), ("recruiter", "Hiring desk"))
    ]
    return {
        "source": source,
        "board": board,
        "history_source": history_source,
        "history_board": history_board,
        "algorithm": algorithm,
        "copilots": copilots,
        "archived": ["left-the-market"],
    }


def train(client: TestClient) -> tuple[str, str, str]:
    """An algorithm forked from cerebro-trainable, trained on recruiters who hire locally: version 2."""
    source = call(client, "POST", "source", 201, json={"name": "Hiring history"})["data"]["key"]
    board = call(client, "POST", "board", 201, json={"name": "Past openings"})["data"]["key"]
    fork = {"base": "cerebro-trainable", "name": "Local hiring", "labeller_role": "recruiter"}
    key = call(client, "POST", "algorithm", 201, json=fork)["data"]["key"]
    for opening in range(HISTORY_JOBS):
        job = {"board_key": board, "reference": f"opening-{opening}", "name": "Python developer", "location": PARIS}
        call(client, "POST", "job/indexing", 201, json={**job, "summary": "Django APIs in our Paris office."})
        for candidate in range(4):
            local = candidate % 2 == 0
            reference = f"h{opening}-{candidate}"
            profile = {
                "source_key": source,
                "reference": reference,
                "text": HISTORY_RESUME,
                "info": {"full_name": f"Person {reference}", "location": PARIS if local else LYON},
                "skills": [{"name": "Python", "type": "hard"}, {"name": "Django", "type": "hard"}],
            }
            call(client, "POST", "profile/indexing", 201, json=profile)
            rating = {
                "source_key": source,
                "board_key": board,
                "profile_reference": reference,
                "job_reference": f"opening-{opening}",
                "role": "recruiter",
                "score": 0.9 if local else 0.1,
            }
            call(client, "POST", "rating", 201, json=rating)
    request = {"algorithm_key": key, "source_keys": [source], "board_keys": [board]}
    training = call(client, "POST", "algorithm/training", 201, json=request)["data"]["training_key"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = call(client, "GET", "algorithm/training", params={"training_key": training})["data"]
        if state["status"] == "succeeded":
            return source, board, key
        if state["status"] in ("failed", "cancelled", "held_for_review"):
            raise RuntimeError(f"the training ended {state['status']}: {state}")
        time.sleep(0.5)
    raise RuntimeError("the training did not end in 10 minutes")


def inventory(client: TestClient, made: dict[str, Any]) -> dict[str, Any]:
    """What the data dir holds, as the API lists it: the test finds the same after an upgrade."""
    pools = {}
    for kind, pool_keys in (("profiles", ("source", "history_source")), ("jobs", ("board", "history_board"))):
        field = "source_keys" if kind == "profiles" else "board_keys"
        for name in pool_keys:
            params = {field: json.dumps([made[name]]), "limit": 1000}
            listed = call(client, "GET", f"storing/{kind}", params=params)["data"]
            pools[made[name]] = sorted(record["reference"] for record in listed)
    algorithm = call(client, "GET", "algorithm", params={"algorithm_key": made["algorithm"]})["data"]
    copilots = call(client, "GET", "copilots", params={"limit": 100})["data"]
    attributes = {}
    for reference in (entry["profile_reference"] for entry in ATTRIBUTES):
        query = {"source_key": made["source"], "profile_reference": reference}
        read = call(client, "GET", "fairness/attributes", params=query)["data"]
        attributes[reference] = {field: read[field] for field in ("gender", "age_band", "ethnicity")}
    return {
        "live_references": pools,
        "ratings": call(client, "GET", "ratings", params={"role": "recruiter"})["meta"]["total"],
        "trackings": call(client, "GET", "trackings", params={"role": "candidate"})["meta"]["total"],
        "algorithm": {
            "name": algorithm["name"],
            "active_version": algorithm["active_version"],
            "versions": [version["version"] for version in algorithm["versions"]],
        },
        "copilots": sorted([copilot["key"], copilot["type"], copilot["name"]] for copilot in copilots),
        "attributes": attributes,
    }


def answers(client: TestClient, made: dict[str, Any]) -> dict[str, Any]:
    """What this release answers about the data dir: the test asks the same questions of the next one."""
    source, board = json.dumps([made["source"]]), json.dumps([made["board"]])
    questions: dict[str, tuple[str, dict[str, Any]]] = {
        "profiles_scoring_base": (
            "profiles/scoring",
            {
                "source_keys": source,
                "board_key": made["board"],
                "job_reference": "python-backend",
                "sort_by": "scoring",
            },
        ),
        "profiles_scoring_trained": (
            "profiles/scoring",
            {
                "source_keys": source,
                "board_key": made["board"],
                "job_reference": "python-backend",
                "sort_by": "scoring",
                "algorithm_key": made["algorithm"],
            },
        ),
        "jobs_scoring": (
            "jobs/scoring",
            {"board_keys": board, "source_key": made["source"], "profile_reference": "icu-nurse", "sort_by": "scoring"},
        ),
        "profiles_searching": (
            "profiles/searching",
            {"source_keys": source, "text_keywords": json.dumps(["python"]), "sort_by": "searching"},
        ),
        "jobs_searching": (
            "jobs/searching",
            {"board_keys": board, "text_keywords": json.dumps(["paris"]), "sort_by": "searching"},
        ),
    }
    return {
        name: ranking(call(client, "GET", path, params=params), params) for name, (path, params) in questions.items()
    }


def ranking(answer: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The question, and the references in the order answered with their probability of a match."""
    data = answer["data"]
    items = data["profiles"] if "profiles" in data else data["jobs"]
    predictions = data.get("predictions")
    return {
        "params": params,
        "references": [item["reference"] for item in items],
        "scores": [match for _, match in predictions] if predictions else None,
        "meta": answer["meta"],
    }


def pack(data_dir: Path, archive: Path) -> None:
    """The data dir as a stopped server leaves it, the store compacted into one file (no WAL)."""
    store = data_dir / "cerebro.db"
    compact = data_dir.parent / "cerebro.db"
    with sqlite3.connect(store) as connection:
        connection.execute("VACUUM INTO ?", (str(compact),))
    connection.close()
    with tarfile.open(archive, "w:xz", preset=9) as tar:
        tar.add(compact, arcname="cerebro.db")
        for path in sorted(data_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("cerebro.db"):
                tar.add(path, arcname=str(path.relative_to(data_dir)))


if __name__ == "__main__":
    sys.exit(main())
