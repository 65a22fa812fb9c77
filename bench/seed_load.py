"""A workspace for the load test (bench/locustfile.py, `make load`, bench/bench_load.py): a source of 100k
profiles and a board of 1,000 real jobs, written straight into a SQLite store, and a JSON manifest of the
keys and values the load test's users send.

Profiles are grown as bench_scale.py grows its pools (`synthetic_pool`: each copies one of the 3,237 real
resumes parsed and embedded by our pipeline, bench/devdata.py, with noisy vectors, dropped skills and
words, scaled years and one of 40 cities), so the pool's index is what bench_scale measures. Unlike
bench_scale's bodies (a name only), each stored profile is its real resume's parsed Profile (text,
experiences, skills...) with its city as a location and a `city` tag, a reference `load-<i>` and a
creation date spread over 2024-01-01..2026-11-30, so answers are as large as real ones and keyword
filters (SQL LIKE over the stored text) scan real text. The stored vectors and features are the real
resume's own (the index holds the noisy copy): a job scored for a profile uses a real profile as its
anchor, and a rebuild from the store never needs the encoder. Jobs are the 1,000 rjdb job descriptions,
parsed, with their real vectors and features, 80% tagged with a city; the server builds their index
from the store on the first call.

The manifest (`manifest.json` in the data dir) holds the admin key and a read and a write key, the pool
keys, every job key, a sample of profile keys, the cities (tag and point), the date range, keywords (the
jobs' most common skills), 200 real parsed profiles for `POST profile/indexing` (`index_profiles.json`)
and a real resume file for `POST profile/parsing/file` (a fictional PDF resume from
../shared/data/fixtures/resume-matcher).

Usage: .venv/bin/python -m bench.seed_load --data-dir /tmp/cerebro-load/seed-100000 [--profiles 100000]
(seeds once: an existing manifest for the same size is kept; --force seeds again).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import sqlalchemy as sa

from bench.bench_scale import CITIES, synthetic_pool
from bench.devdata import LIVECAREER, RJDB, SHARED, Side, _side, livecareer_texts
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import vectors_tag, view_texts
from cerebro_serve.index.registry import PoolIndex, model_directory
from cerebro_serve.objects import GeneralEntity, Job, Location, Profile
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.services.keys import KeyRing, new_key
from cerebro_serve.services.records import display_name, email_of
from cerebro_serve.store import SqlStore
from cerebro_serve.store.schema import pools, record_tags, records

MODEL = "all-MiniLM-L6-v2"
RESUME_FILE = SHARED / "fixtures" / "resume-matcher" / "Data_Resume_archive_john_doe.pdf"
SOURCE_KEY = "5" * 40
BOARD_KEY = "6" * 40
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(2026, 11, 30, tzinfo=UTC)
BATCH = 5_000
SAMPLE_PROFILE_KEYS = 5_000
INDEX_PROFILES = 200
KEYWORDS = 60


@dataclass
class Base:
    """The real records the workspace is made of: parsed objects beside their features and view vectors."""

    jobs: list[Job]
    job_side: Side
    resumes: list[Profile]  # the 2,000 rjdb resumes, then the 1,237 livecareer resumes (bench_scale's order)
    resume_side: Side


def load_base(encoder, base: str = "all") -> Base:
    """The rjdb jobs and the 3,237 resumes bench_scale grows pools from (`grown_from`), parsed once and kept
    as objects; vectors come from bench/devdata.py's cache (embedded on the first run: the livecareer
    resumes take the longest, ~1 hour on 2 busy cores). `base="rjdb"`: the 2,000 rjdb resumes only."""
    if not RJDB.exists() or (base == "all" and not LIVECAREER.exists()):
        raise SystemExit(f"{RJDB} or {LIVECAREER} not found: seeding needs the development data in ../shared")
    lexicon = default_lexicon()
    rows = [json.loads(line) for line in RJDB.read_text().splitlines() if line.strip()]
    job_texts = [row["Job-Description"] for row in rows]
    rjdb_texts = [text for row in rows for text in (row["Resume-matched"], row["Resume-unmatched"])]
    jobs = [parse_job(text, lexicon) for text in job_texts]
    rjdb_resumes = [parse_resume(text, lexicon) for text in rjdb_texts]
    job_side = _side(encoder, job_texts, jobs, "rjdb-jobs", encoder.name)
    rjdb_side = _side(encoder, rjdb_texts, rjdb_resumes, "rjdb-resumes", encoder.name)
    if base == "rjdb":
        return Base(jobs, job_side, rjdb_resumes, rjdb_side)
    live_texts = livecareer_texts()
    live_resumes = [parse_resume(text, lexicon) for text in live_texts]
    live_side = _side(encoder, live_texts, live_resumes, "livecareer", encoder.name)
    resume_side = Side(
        rjdb_side.texts + live_side.texts,
        rjdb_side.features + live_side.features,
        np.concatenate([rjdb_side.vectors, live_side.vectors]),
    )
    return Base(jobs, job_side, rjdb_resumes + live_resumes, resume_side)


def _dates(n: int, rng: np.random.Generator, first: datetime, last: datetime) -> np.ndarray:
    """n creation dates (µs), uniform over [first, last], ascending (ids follow creation order)."""
    low, high = int(first.timestamp() * 1e6), int(last.timestamp() * 1e6)
    return np.sort(rng.integers(low, high, n, dtype=np.int64))


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="seconds")


def _search_text(record: Profile | Job, features) -> str:
    """What the record service stores for keyword filters: the full-text view, case-folded."""
    return view_texts(record, features.title, features.skills_text)[0].casefold()


def save_pool(pool: PoolIndex, index_dir: Path, pool_key: str, revision: int) -> None:
    """The pool's index files where the server's registry reads them, naming the store's revision: a
    directory of generations per pool (index/snapshots.py, shared by several processes), or, before those,
    `<key>.vectors` files."""
    pool.vectors.revision = revision
    index_dir.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("cerebro_serve.index.snapshots") is not None:
        pool.save(index_dir / pool_key)
    else:
        pool.save(index_dir / f"{pool_key}.vectors")


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def seed(directory: Path, n: int = 100_000, seed_value: int = 0, log=print, base_set: str = "all") -> dict[str, Any]:
    """Write the workspace and its manifest into `directory` (which must not hold a store yet)."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "cerebro.db").exists():
        raise SystemExit(f"{directory} already holds a store: remove it or choose another directory")
    encoder = load_encoder(MODEL, "cpu", "float32", "torch")
    base = load_base(encoder, base_set)
    log(f"base records loaded and parsed in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(seed_value + 1)
    created = _dates(n, rng, FIRST_DAY, LAST_DAY)
    pool, _, origins = synthetic_pool(base.resume_side, n, seed_value)
    pool.columns.created_at_us[:n] = created  # bench_scale's rows are dated i seconds after 1970
    pool.columns.updated_at_us[:n] = created
    columns = pool.columns.snapshot()
    cities = []
    city_of = np.full(n, -1, dtype=np.int64)
    for city in range(CITIES):
        rows = columns.tag_rows.get(("city", f"city-{city}"), np.empty(0, np.int64))
        rows = rows[rows < n]
        city_of[rows] = city
        if len(rows):
            cities.append(
                {"tag": f"city-{city}", "lat": float(columns.lat[rows[0]]), "lng": float(columns.lng[rows[0]])}
            )
    points = {int(c["tag"].split("-")[1]): c for c in cities}
    log(f"pool of {n:,} grown in {time.perf_counter() - started:.0f} s (IVF: {pool.vectors.approximate})")

    store = SqlStore(f"sqlite:///{directory / 'cerebro.db'}")
    admin_key = new_key("all")
    (directory / "api_key").write_text(admin_key + "\n")
    (directory / "api_key").chmod(0o600)
    keys = KeyRing(store, admin_key)
    read_key, write_key = keys.create("read"), keys.create("write")
    store.pools.create_pool("source", SOURCE_KEY, "Load test candidates", f"{n:,} profiles grown from real resumes")
    store.pools.create_pool("board", BOARD_KEY, "Load test jobs", "1,000 rjdb job descriptions")

    # Per real resume: what every profile grown from it shares.
    resume_rows = []
    for resume, features, vectors in zip(base.resumes, base.resume_side.features, base.resume_side.vectors):
        resume_rows.append(
            (
                _search_text(resume, features),
                features.encode(),
                np.ascontiguousarray(vectors, np.float32).tobytes(),
                email_of(resume),
            )
        )
    with store.engine.begin() as connection:
        for start in range(0, n, BATCH):
            batch, tags = [], []
            for i in range(start, min(n, start + BATCH)):
                origin, city = int(origins[i]), int(city_of[i])
                resume = base.resumes[origin]
                info = resume.info
                if city >= 0:
                    point = points[city]
                    info = msgspec.structs.replace(
                        info, location=Location(text=f"City {city}", lat=point["lat"], lng=point["lng"])
                    )
                    tags.append({"record_id": i + 1, "name": "city", "value": f"city-{city}"})
                body = msgspec.structs.replace(
                    resume,
                    reference=f"load-{i + 1}",
                    info=info,
                    tags=[GeneralEntity(name="city", value=f"city-{city}")] if city >= 0 else [],
                )
                search_text, features, embedding, email = resume_rows[origin]
                batch.append(
                    {
                        "kind": "profile",
                        "key": f"{i + 1:040x}",
                        "pool_key": SOURCE_KEY,
                        "reference": body.reference,
                        "email": email,
                        "name": display_name(body),
                        "search_text": search_text,
                        "created_at_us": int(created[i]),
                        "updated_at_us": int(created[i]),
                        "body": msgspec.json.encode(body),
                        "model": vectors_tag(encoder.name),
                        "embedding": embedding,
                        "features": features,
                    }
                )
            connection.execute(records.insert(), batch)
            if tags:
                connection.execute(record_tags.insert(), tags)
        top = connection.execute(sa.select(sa.func.max(records.c.id))).scalar()
        assert top == n, "record ids must be 1..n to match the pool's rows"
        revision = 7
        connection.execute(pools.update().where(pools.c.key == SOURCE_KEY).values(revision=revision))
    save_pool(pool, model_directory(directory / "indexes", vectors_tag(encoder.name)), SOURCE_KEY, revision)
    log(f"profiles stored in {time.perf_counter() - started:.0f} s")

    job_created = _dates(len(base.jobs), rng, datetime(2026, 6, 1, tzinfo=UTC), LAST_DAY)
    job_cities = np.where(rng.random(len(base.jobs)) < 0.8, rng.integers(0, len(cities), len(base.jobs)), -1)
    job_keys = []
    with store.engine.begin() as connection:
        batch, tags = [], []
        for number, (job, features, vectors) in enumerate(
            zip(base.jobs, base.job_side.features, base.job_side.vectors)
        ):
            city = int(job_cities[number])
            body = msgspec.structs.replace(
                job,
                reference=f"rjdb-{number}",
                tags=[GeneralEntity(name="city", value=cities[city]["tag"])] if city >= 0 else [],
            )
            key = f"{0xC0000000 + number:040x}"
            job_keys.append(key)
            batch.append(
                {
                    "kind": "job",
                    "key": key,
                    "pool_key": BOARD_KEY,
                    "reference": body.reference,
                    "email": None,
                    "name": display_name(body),
                    "search_text": _search_text(body, features),
                    "created_at_us": int(job_created[number]),
                    "updated_at_us": int(job_created[number]),
                    "body": msgspec.json.encode(body),
                    "model": vectors_tag(encoder.name),
                    "embedding": np.ascontiguousarray(vectors, np.float32).tobytes(),
                    "features": features.encode(),
                }
            )
        first = connection.execute(sa.select(sa.func.max(records.c.id))).scalar() + 1
        connection.execute(records.insert(), batch)
        for number, city in enumerate(job_cities):
            if city >= 0:
                tags.append({"record_id": first + number, "name": "city", "value": cities[int(city)]["tag"]})
        connection.execute(record_tags.insert(), tags)
        connection.execute(pools.update().where(pools.c.key == BOARD_KEY).values(revision=3))
    store.close()

    # What the users send: keywords (the jobs' commonest skills), real profiles to index, a resume file.
    skills = Counter(
        skill.name.casefold()
        for job in base.jobs
        for skill in job.skills
        if 3 <= len(skill.name) <= 30 and skill.name.split()[0].casefold() not in ("a", "an", "and", "be", "the")
    )
    keywords = [name for name, _ in skills.most_common(KEYWORDS)]
    picks = rng.choice(len(base.resumes), INDEX_PROFILES, replace=False)
    index_profiles = [
        msgspec.to_builtins(msgspec.structs.replace(base.resumes[int(p)], key=None, reference=None)) for p in picks
    ]
    (directory / "index_profiles.json").write_text(json.dumps(index_profiles))
    if RESUME_FILE.exists():
        resume_file = directory / "resume.pdf"
        shutil.copyfile(RESUME_FILE, resume_file)
    else:  # a real resume's text, as a .txt upload
        resume_file = directory / "resume.txt"
        resume_file.write_text(base.resume_side.texts[-1])
    sample = np.sort(rng.choice(n, min(n, SAMPLE_PROFILE_KEYS), replace=False)) + 1
    manifest = {
        "profiles": n,
        "jobs": len(job_keys),
        "seed": seed_value,
        "base": base_set,  # all: bench_scale's 3,237 resumes; rjdb: its 2,000 rjdb resumes only
        "seeded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeded_in_s": round(time.perf_counter() - started, 1),
        "commit": _git_commit(),
        "model": vectors_tag(encoder.name),
        "admin_key": admin_key,
        "read_key": read_key,
        "write_key": write_key,
        "source_key": SOURCE_KEY,
        "board_key": BOARD_KEY,
        "job_keys": job_keys,
        "profile_keys": [f"{int(i):040x}" for i in sample],
        "cities": cities,
        "created_at_range": [_iso(int(created[0])), _iso(int(created[-1]))],
        "keywords": keywords,
        "index_profiles": "index_profiles.json",
        "resume_file": resume_file.name,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    log(f"seeded {directory} in {manifest['seeded_in_s']} s")
    return manifest


def ensure_seeded(directory: Path, n: int, force: bool = False, log=print, base: str = "all") -> dict[str, Any]:
    """The manifest of a workspace seeded once in `directory` (seeded now when missing or of another size)."""
    manifest_path = directory / "manifest.json"
    if manifest_path.exists() and not force:
        manifest = json.loads(manifest_path.read_text())
        if manifest["profiles"] == n:
            return manifest
        log(f"{directory} holds {manifest['profiles']:,} profiles, not {n:,}: seeding again")
    if directory.exists():
        shutil.rmtree(directory)
    return seed(directory, n, log=log, base_set=base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--force", action="store_true", help="seed again even if the data dir has a manifest")
    parser.add_argument(
        "--base", choices=["all", "rjdb"], default="all", help="rjdb: grow from the 2,000 rjdb resumes only"
    )
    args = parser.parse_args()
    manifest = ensure_seeded(args.data_dir, args.profiles, args.force, base=args.base)
    print(f"{args.data_dir}: {manifest['profiles']:,} profiles, {manifest['jobs']:,} jobs")


if __name__ == "__main__":
    main()
