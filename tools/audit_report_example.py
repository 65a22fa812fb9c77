"""Render a fairness audit report of `cerebro-base` on the demo workspace and screenshot it for docs/.

The demo profiles carry no protected attributes, so each gets a gender, an ethnicity and an age band drawn
at random (seeded): the report shows what an auditor receives, not a finding about anyone. The audit runs
as the server runs it (a temporary data dir, the server's wiring, the worker thread); the page is then
screenshotted by headless Chromium (`apt-get install -y chromium`).

    .venv/bin/python tools/audit_report_example.py --out docs
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

from cerebro_serve.cli import build_workspace
from cerebro_serve.demo import load_demo
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services.queries import (
    AttributesCreate,
    FairnessAuditCreate,
    PoolListQuery,
    ProfilesStoringQuery,
    ProtectedAttributes,
)
from cerebro_serve.settings import Settings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        workspace, batcher = build_workspace(Settings.from_env(data_dir=Path(directory)))
        try:
            load_demo(workspace)
            source = workspace.pools.list(PROFILE, PoolListQuery()).items[0].key
            board = workspace.pools.list(JOB, PoolListQuery()).items[0].key
            profiles = workspace.records.list(PROFILE, ProfilesStoringQuery(source_keys=[source], limit=1000)).items
            rng = random.Random(2026)
            attributes = [
                ProtectedAttributes(
                    profile_key=profile["key"],
                    gender=rng.choice(["female", "male"]),
                    ethnicity=rng.choice(["Asian", "Black", "Hispanic", "White"]),
                    age_band=rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64"]),
                )
                for profile in profiles
            ]
            workspace.fairness.set_attributes(AttributesCreate(source_key=source, attributes=attributes))
            key = workspace.fairness.start(
                FairnessAuditCreate(algorithm_key="cerebro-base", source_keys=[source], board_keys=[board])
            )["audit_key"]
            while (status := workspace.fairness.get(key)["status"]) in ("queued", "running"):
                time.sleep(1)
            if status != "succeeded":
                raise SystemExit(f"the audit ended {status}: {workspace.fairness.get(key)['error']}")
            page = args.out / "fairness-audit-report.html"
            page.write_text(workspace.fairness.html(key))
        finally:
            workspace.close()
            batcher.close()
    shot = args.out / "fairness-audit-report.png"
    subprocess.run(
        [
            args.chromium,
            *CHROMIUM_ARGS,
            f"--screenshot={shot.resolve()}",
            "--window-size=1280,2000",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"{page}\n{shot}")


if __name__ == "__main__":
    main()
