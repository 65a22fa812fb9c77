"""Realistic users of Cerebro Serve, for Locust (`make load`, bench/bench_load.py).

Two kinds of users over a seeded workspace (bench/seed_load.py writes its manifest; the path comes in
CEREBRO_LOAD_MANIFEST):
- recruiters (4 in 5): score the source's profiles for a job (`GET /v1/profiles/scoring`, page 1 of 10,
  now and then 30, with a city tag, a radius around a city or a date range), read the next pages of the
  same ranking, search profiles (`GET /v1/profiles/searching`: keywords with a city tag or a date range
  listed by date, keywords ranked by relevance, or tags and dates only), rate and track profiles they
  were shown (`POST /v1/rating`, `POST /v1/tracking`), index a new profile (`POST /v1/profile/indexing`,
  a real parsed resume) and, now and then, parse a resume file (`POST /v1/profile/parsing/file`,
  `sync_parsing=1`);
- candidates (1 in 5): each is one of the source's profiles and scores the board's jobs for itself
  (`GET /v1/jobs/scoring`, sometimes with a city tag), pages through them, tracks the jobs it views and
  applies to, and searches jobs by keyword.

Each task sends exactly one request, so a user's rate is its task rate. Weighted like a working day,
the mix is about 56% profiles/scoring (a quarter of it later pages), 14% jobs/scoring, 13% searching, 5%
ratings, 9% trackings, 2% indexing and 0.5% parsing. Reads use a read key, writes a write key (as
applications would), every request names its user (`X-USER-EMAIL`).

Outcomes: a 2xx is a success; a 429 (the encoder's admission control) is counted apart, under the
request's name with " [429]" appended, as a success, so the other rows hold only answered requests;
anything else (other statuses, timeouts, refused connections) is a failure.

Environment: CEREBRO_LOAD_MANIFEST (required), CEREBRO_LOAD_RATE (requests per second per user:
each user paced from a random phase; unset, each user thinks 1-3 s between requests), CEREBRO_LOAD_TIMEOUT
(seconds, default 30), CEREBRO_LOAD_SAMPLES (a CSV file: every request's start, name, status, latency and
the server's `Server-Timing` stages, written when the run ends; bench_load.py computes its percentiles
from it).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, events, task

RATE = float(os.environ.get("CEREBRO_LOAD_RATE") or 0)
TIMEOUT = float(os.environ.get("CEREBRO_LOAD_TIMEOUT") or 30)
SAMPLES = os.environ.get("CEREBRO_LOAD_SAMPLES")
THROTTLED = " [429]"


@functools.cache
def manifest() -> dict[str, Any]:
    path = Path(os.environ["CEREBRO_LOAD_MANIFEST"])
    data = json.loads(path.read_text())
    data["index_profiles"] = json.loads((path.parent / data["index_profiles"]).read_text())
    resume = path.parent / data["resume_file"]
    data["resume"] = (resume.name, resume.read_bytes())
    return data


def _json(value: Any) -> str:
    """HrFlow's query strings carry lists and objects as JSON."""
    return json.dumps(value, separators=(",", ":"))


# -- every request's outcome, for bench_load.py -------------------------------------------------------

_samples: list[tuple[float, str, str, int, float, int, str]] = []

if SAMPLES:

    @events.request.add_listener
    def _sample(request_type, name, response_time, response=None, exception=None, start_time=None, **_):
        status = getattr(response, "status_code", 0) or 0
        headers = getattr(response, "headers", None) or {}
        timing = headers.get("server-timing") or ""  # the server's stages (api/server_timing.py)
        _samples.append(
            (start_time or time.time(), request_type, name, status, response_time, exception is None, timing)
        )

    @events.quitting.add_listener
    def _write_samples(**_):
        with open(SAMPLES, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["start", "method", "name", "status", "ms", "ok", "server_timing"])
            writer.writerows(
                (f"{s:.3f}", m, n, c, f"{ms:.2f}", int(ok), timing) for s, m, n, c, ms, ok, timing in _samples
            )


# -- users ------------------------------------------------------------------------------------------


class WorkspaceUser(FastHttpUser):
    abstract = True
    network_timeout = TIMEOUT
    connection_timeout = TIMEOUT

    def on_start(self) -> None:
        self.m = manifest()
        self.rng = random.Random()
        self.email = f"{type(self).__name__.lower()}-{uuid.uuid4().hex[:8]}@example.com"
        self.read = {"X-API-KEY": self.m["read_key"], "X-USER-EMAIL": self.email}
        self.write = {"X-API-KEY": self.m["write_key"], "X-USER-EMAIL": self.email}
        if RATE > 0:
            # A random phase in the period: users spawned together would otherwise send in lockstep (as
            # Locust's constant_throughput keeps them, pacing from their common spawn time), N requests
            # in the same milliseconds each period instead of N spread over it.
            gevent.sleep(self.rng.random() / RATE)
        self.next_start = time.monotonic()

    def wait_time(self) -> float:
        """RATE tasks a second from this user's own phase (a late task starts the next at once), or a
        1-3 s think time without a rate."""
        if RATE <= 0:
            return self.rng.uniform(1, 3)
        now = time.monotonic()
        self.next_start = max(self.next_start + 1 / RATE, now)
        return self.next_start - now

    def send(self, method: str, path: str, name: str, params: dict[str, Any] | None = None, **kwargs: Any):
        """One request; returns the response when it was a 2xx, else None (a 429 is counted apart)."""
        url = f"/v1/{path}" + (f"?{urlencode(params)}" if params else "")
        with self.client.request(method, url, name=name, catch_response=True, **kwargs) as response:
            status = response.status_code or 0
            if 200 <= status < 300:
                response.success()
                return response
            if status == 429:
                response.request_meta["name"] = name + THROTTLED
                response.success()
                return None
            detail = (response.text or "")[:200] if status else str(response.error)
            response.failure(f"{status}: {detail}")
            return None

    def city(self) -> dict[str, Any]:
        return self.rng.choice(self.m["cities"])

    def date_min(self) -> str:
        """A creation date inside the seeded range (the last 3 to 18 months of it)."""
        year, month = self.rng.choice([(2025, 6), (2025, 9), (2026, 1), (2026, 3), (2026, 6), (2026, 8)])
        return f"{year}-{month:02d}-01T00:00:00Z"

    def keywords(self) -> list[str]:
        return [self.rng.choice(self.m["keywords"])]


class Recruiter(WorkspaceUser):
    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.ranking: dict[str, Any] | None = None  # the scoring call whose pages the recruiter reads
        self.shown: bytes | None = None  # the last page's answer, parsed only when a profile is picked

    def _score(self, params: dict[str, Any], name: str) -> None:
        response = self.send("GET", "profiles/scoring", name, params, headers=self.read)
        self.shown = response.content if response is not None else None

    @task(80)
    def score_profiles(self) -> None:
        m = self.m
        params: dict[str, Any] = {
            "source_keys": _json([m["source_key"]]),
            "board_key": m["board_key"],
            "job_key": self.rng.choice(m["job_keys"]),
            "sort_by": "scoring",
            "page": 1,
            "limit": 30 if self.rng.random() < 0.2 else 10,
        }
        draw = self.rng.random()
        if draw < 0.3:
            params["tags_included"] = _json([[{"name": "city", "value": self.city()["tag"]}]])
        elif draw < 0.45:
            city = self.city()
            params["location_geopoint"] = _json({"lat": city["lat"], "lng": city["lng"]})
            params["location_distance"] = 300
        elif draw < 0.6:
            params["created_at_min"] = self.date_min()
        self.ranking = params
        self._score(params, "/v1/profiles/scoring")

    @task(24)
    def next_page(self) -> None:
        if self.ranking is None or self.ranking["page"] >= 5:
            return self.score_profiles()
        self.ranking = {**self.ranking, "page": self.ranking["page"] + 1}
        self._score(self.ranking, "/v1/profiles/scoring (next page)")

    @task(20)
    def search_profiles(self) -> None:
        m = self.m
        params: dict[str, Any] = {"source_keys": _json([m["source_key"]]), "limit": 10}
        draw = self.rng.random()
        if draw < 0.4:  # keywords and a city, newest first: the keywords are a SQL filter
            params.update(
                text_keywords=_json(self.keywords()),
                tags_included=_json([[{"name": "city", "value": self.city()["tag"]}]]),
                sort_by="created_at",
            )
            name = "/v1/profiles/searching (keywords by date)"
        elif draw < 0.7:  # keywords ranked by relevance: the keywords are embedded (the encoder)
            params.update(text_keywords=_json(self.keywords()), sort_by="searching")
            name = "/v1/profiles/searching (keywords by relevance)"
        else:  # a city and a date range, newest first
            params.update(
                tags_included=_json([[{"name": "city", "value": self.city()["tag"]}]]),
                created_at_min=self.date_min(),
                sort_by="created_at",
            )
            name = "/v1/profiles/searching (tags and dates)"
        self.send("GET", "profiles/searching", name, params, headers=self.read)

    def _shown_profile(self) -> str:
        """A profile of the last page the recruiter saw (else one of the source's)."""
        if self.shown:
            profiles = json.loads(self.shown)["data"]["profiles"]
            if profiles:
                return self.rng.choice(profiles)["key"]
        return self.rng.choice(self.m["profile_keys"])

    def _pair(self) -> dict[str, Any]:
        job = self.ranking["job_key"] if self.ranking else self.rng.choice(self.m["job_keys"])
        return {
            "source_key": self.m["source_key"],
            "board_key": self.m["board_key"],
            "profile_key": self._shown_profile(),
            "job_key": job,
        }

    @task(10)
    def rate(self) -> None:
        body = {**self._pair(), "role": "recruiter", "score": self.rng.choice([0.2, 0.4, 0.6, 0.8, 1.0])}
        self.send("POST", "rating", "/v1/rating", json=body, headers=self.write)

    @task(10)
    def track(self) -> None:
        action = self.rng.choice(["view", "view", "shortlist", "contact", "interview"])
        body = {**self._pair(), "role": "recruiter", "action": action}
        self.send("POST", "tracking", "/v1/tracking", json=body, headers=self.write)

    @task(4)
    def index_profile(self) -> None:
        body = dict(self.rng.choice(self.m["index_profiles"]))
        body.update(source_key=self.m["source_key"], reference=f"new-{uuid.uuid4().hex}")
        self.send("POST", "profile/indexing", "/v1/profile/indexing", json=body, headers=self.write)

    @task(1)
    def parse_resume(self) -> None:
        filename, data = self.m["resume"]
        boundary = uuid.uuid4().hex
        fields = {"source_key": self.m["source_key"], "reference": f"parsed-{uuid.uuid4().hex}", "sync_parsing": "1"}
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        kind = "application/pdf" if filename.endswith(".pdf") else "text/plain"
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n".encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {**self.write, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        self.send("POST", "profile/parsing/file", "/v1/profile/parsing/file", data=b"".join(parts), headers=headers)


class Candidate(WorkspaceUser):
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.profile_key = self.rng.choice(self.m["profile_keys"])  # who this candidate is
        self.ranking: dict[str, Any] | None = None
        self.shown: bytes | None = None

    def _score(self, params: dict[str, Any], name: str) -> None:
        response = self.send("GET", "jobs/scoring", name, params, headers=self.read)
        self.shown = response.content if response is not None else None

    @task(20)
    def score_jobs(self) -> None:
        m = self.m
        params: dict[str, Any] = {
            "board_keys": _json([m["board_key"]]),
            "source_key": m["source_key"],
            "profile_key": self.profile_key,
            "sort_by": "scoring",
            "page": 1,
            "limit": 10,
        }
        if self.rng.random() < 0.3:
            params["tags_included"] = _json([[{"name": "city", "value": self.city()["tag"]}]])
        self.ranking = params
        self._score(params, "/v1/jobs/scoring")

    @task(6)
    def next_page(self) -> None:
        if self.ranking is None or self.ranking["page"] >= 3:
            return self.score_jobs()
        self.ranking = {**self.ranking, "page": self.ranking["page"] + 1}
        self._score(self.ranking, "/v1/jobs/scoring (next page)")

    @task(6)
    def track(self) -> None:
        job = self.rng.choice(self.m["job_keys"])
        if self.shown:
            jobs = json.loads(self.shown)["data"]["jobs"]
            if jobs:
                job = self.rng.choice(jobs)["key"]
        body = {
            "source_key": self.m["source_key"],
            "board_key": self.m["board_key"],
            "profile_key": self.profile_key,
            "job_key": job,
            "role": "candidate",
            "action": self.rng.choice(["view", "view", "view", "apply"]),
        }
        self.send("POST", "tracking", "/v1/tracking", json=body, headers=self.write)

    @task(4)
    def search_jobs(self) -> None:
        params = {
            "board_keys": _json([self.m["board_key"]]),
            "text_keywords": _json(self.keywords()),
            "sort_by": "created_at",
            "limit": 10,
        }
        self.send("GET", "jobs/searching", "/v1/jobs/searching (keywords by date)", params, headers=self.read)
