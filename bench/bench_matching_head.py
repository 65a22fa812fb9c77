"""What reading a matched profile to its matching head costs a `profiles/matching` call, against the same
call on the profile's stored vectors, in one run.

multilingual-e5-small stores 256-token profile heads; a profile matched against is read to its first 128
(`engine/views.py MATCHING_HEAD_TOKENS`): embedded again on the first matching against it, then kept
(`services/anchors.py MatchingHeads`). A workspace on the real server's code (in-process HTTP, SQLite in a
temporary directory, the chosen encoder) holds `--profiles` livecareer resumes; each round matches the
others against one of them three ways, interleaved: on its stored vectors (what served before; the module's
matching head set to the stored length for that call), read to 128 for the first time (a profile not
matched against before), and read to 128 again (kept from the call before). A page of 10, cerebro-match.

Usage: .venv/bin/python -m bench.bench_matching_head [--model multilingual-e5-small] [--profiles 300]
       [--calls 40]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from litestar.testing import TestClient

from bench.call_timings import WARM_UP_CALLS, print_table, timed_call
from bench.devdata import LIVECAREER, livecareer_texts
from cerebro_serve.api import create_app
from cerebro_serve.cli import build_workspace
from cerebro_serve.engine import views
from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.services.keys import new_key
from cerebro_serve.settings import Settings

KINDS = ("stored vectors", "read to 128, first matching", "read to 128, kept")


def resumes(count: int) -> list[str]:
    """`count` livecareer resume texts, a fixed sample."""
    if not LIVECAREER.exists():
        raise SystemExit(f"{LIVECAREER} not found: this benchmark needs the development data in ../shared")
    texts = livecareer_texts()
    chosen = np.random.default_rng(0).choice(len(texts), size=count, replace=False)
    return [texts[index] for index in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=E5_MODEL)
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    texts = resumes(args.profiles)
    stored_head = views.profile_head_tokens(args.model)
    with tempfile.TemporaryDirectory() as directory:
        admin_key = new_key("all")
        settings = Settings(data_dir=Path(directory), api_key=admin_key, model=args.model, device="cpu")
        workspace, batcher = build_workspace(settings, training_worker=False)
        try:
            with TestClient(create_app(workspace, max_body_bytes=1 << 22)) as client:
                client.headers["X-API-KEY"] = admin_key
                source = client.post("/v1/source", json={"name": "Resumes"}).json()["data"]["key"]
                started = time.perf_counter()
                for number, text in enumerate(texts):
                    body = {"source_key": source, "reference": f"r{number}", "text": text}
                    assert client.post("/v1/profile/indexing", json=body).status_code == 201
                indexed = time.perf_counter() - started
                timings: dict[str, list[float]] = {name: [] for name in KINDS}
                for call in range(args.calls + WARM_UP_CALLS):
                    anchor = f"r{call % len(texts)}"
                    params = {"source_key": source, "profile_reference": anchor, "limit": 10}
                    for name in KINDS:
                        views.MATCHING_HEAD_TOKENS = stored_head if name == KINDS[0] else views.PROFILE_HEAD_TOKENS
                        timed_call(lambda: client.get("/v1/profiles/matching", params=params), timings[name], call)
        finally:
            workspace.close()
            batcher.close()
    print(f"{platform.machine()}, {args.model}; {args.profiles} livecareer resumes indexed in {indexed:.0f} s;")
    print(f"{args.calls} matchings each, interleaved, page of 10")
    print_table("anchor", timings)


if __name__ == "__main__":
    main()
