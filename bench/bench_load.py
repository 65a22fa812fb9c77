"""Load tests with Locust (bench/locustfile.py) against the real server over a seeded 100k-profile workspace.

Subcommands:
- `run`: one Locust run (`make load`): users, spawn rate and run time as given (think time 1-3 s per user,
  or `--rate` requests/s per user), Locust's CSV and HTML report under bench/results/load/.
- `capacity`: the offered load stepped up on one server (each user at `--rate` requests/s,
  paced from a random phase; more users each step), each step's offered and achieved rate, p50/p99, 429s and
  errors; the capacity is the highest achieved rate whose scoring p99 stays within `--p99-ms` with no
  errors and at least 95% of the offered rate achieved.
- `overload`: a fresh server at `--users` x `--rate` (2x the capacity): 429s, errors, latencies.
- `soak`: a fresh server at a steady load for `--run-time`; the server's resident memory every 10 s.

Every server starts on a fresh copy of the seeded data dir (bench/seed_load.py; seeded once, cached in
`--data-root`, /tmp/cerebro-load by default), listens on 127.0.0.1 on a free port, is warmed (the
pool's index loaded) after /readyz answers 200, and is stopped (SIGTERM, SIGKILL after 2 minutes) at the
end. Timed phases hold /tmp/cerebro-bench.lock (`flock`) from the first server start to the last stop,
so they never overlap another engineer's timed run; seeding happens before, unlocked. Locust runs as one
process on the same machine as the server.

`--server-env NAME=VALUE` sets a variable for the overload and soak servers (an allocator setting, say).
`--workers N` sets CEREBRO_WORKERS=N for the server (multi-process serving, where the server has it);
without it the variable is left unset. `--snapshot` runs the seeder and the server on HEAD's
cerebro_serve (`git archive`, with the built native module; `--code DIR` on another copy), so a
measurement names one commit while the working tree is being edited.

Percentiles come from every request's outcome (CEREBRO_LOAD_SAMPLES), over the accepted (2xx) requests
after a warm-up of `--warmup` seconds; 429s and failures are counted apart.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from bench.bench_scale import free_port
from bench.server_timing import stages

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "load"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
LOCK = "/tmp/cerebro-bench.lock"
LOCKED_ENV = "CEREBRO_BENCH_LOCKED"
THROTTLED = " [429]"
# Run a module from another copy of the source: the editable install's finder would import /work/main's.
BOOT = (
    "import runpy, sys\n"
    "code, module = sys.argv[1], sys.argv[2]\n"
    "if code:\n"
    "    sys.meta_path[:] = [f for f in sys.meta_path if 'ScikitBuild' not in type(f).__name__]\n"
    "    sys.path.insert(0, code)\n"
    "sys.argv = [module] + sys.argv[3:]\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def module_command(code: Path | None, module: str, *args: str) -> list[str]:
    return [sys.executable, "-c", BOOT, str(code or ""), module, *args]


def snapshot(data_root: Path) -> Path:
    """HEAD's cerebro_serve/ (git archive) with the built native module, in the data root: the server code a
    measurement runs, whatever is being edited in the working tree meanwhile. bench/ (the seeder, its
    cache of embedded records) stays the working tree's."""
    if subprocess.run(["git", "status", "--porcelain", "--", "csrc"], capture_output=True, text=True, cwd=ROOT).stdout:
        raise SystemExit("csrc/ has uncommitted changes: the built native module is not HEAD's")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    code = data_root / f"code-{commit[:12]}"
    if not (code / "COMMIT").exists():
        if code.exists():
            shutil.rmtree(code)
        code.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit, "cerebro_serve"], capture_output=True, cwd=ROOT)
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
        native = importlib.util.find_spec("cerebro_serve._native")
        if native is None or native.origin is None:
            raise SystemExit("the native module is not built: run make install")
        shutil.copy(native.origin, code / "cerebro_serve")
        (code / "COMMIT").write_text(commit + "\n")
    return code


# -- workspace and server ---------------------------------------------------------------------------


def seeded(data_root: Path, profiles: int, code: Path | None, base: str = "all") -> Path:
    """The seeded data dir (seeded now, unlocked, when missing), by the same code the server runs."""
    seed_dir = data_root / (
        f"seed-{profiles}" + ("-rjdb" if base == "rjdb" else "") + (f"-{code.name}" if code else "")
    )
    manifest = seed_dir / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["profiles"] == profiles:
        return seed_dir
    log(f"seeding {profiles:,} profiles into {seed_dir} (once)")
    command = module_command(
        code, "bench.seed_load", "--data-dir", str(seed_dir), "--profiles", str(profiles), "--base", base
    )
    subprocess.run(command, check=True, cwd=ROOT)
    return seed_dir


def fresh_copy(seed_dir: Path, run_dir: Path) -> Path:
    """A copy of the seeded workspace for one server: every run starts from the same state."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    subprocess.run(["cp", "-a", "--reflink=auto", str(seed_dir), str(run_dir)], check=True)
    return run_dir


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    log_path: Path
    # (seconds since start, MiB of the server process, MiB with its children, the server's anonymous MiB)
    rss: list[tuple[float, float, float, float]] = field(default_factory=list)

    def rss_mb(self) -> tuple[float, float, float]:
        """Resident memory of the server process, with its children (server workers, parsing sandboxes),
        and the server's anonymous part: its resident memory less the file-backed pages (the mapped index
        files and libraries, which the kernel can drop and read again), so a leak shows apart from the
        index being paged in."""
        try:
            parent = psutil.Process(self.process.pid)
            memory = parent.memory_info()
            children = parent.children(recursive=True)
        except psutil.NoSuchProcess:
            return float("nan"), float("nan"), float("nan")
        total = memory.rss
        for process in children:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return memory.rss / 2**20, total / 2**20, (memory.rss - memory.shared) / 2**20


@contextmanager
def server(
    run_dir: Path, code: Path | None, workers: int | None, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    """`cerebro-serve serve` on the run dir, 127.0.0.1, a free port; its log beside the run dir.
    `settings`: CEREBRO_* variables for this server only."""
    port = free_port()
    env = {**os.environ, "CEREBRO_DEVICE": "cpu", "CEREBRO_LOG_FORMAT": "text", **(settings or {})}
    env.pop("CEREBRO_API_KEY", None)
    env.pop("CEREBRO_DATABASE_URL", None)
    env.pop("CEREBRO_WORKERS", None)
    if workers is not None:
        env["CEREBRO_WORKERS"] = str(workers)
    command = module_command(
        code, "cerebro_serve", "serve", "--data-dir", str(run_dir), "--host", "127.0.0.1", "--port", str(port)
    )
    log_path = run_dir.parent / f"{run_dir.name}-server.log"
    with open(log_path, "w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    base_url = f"http://127.0.0.1:{port}"
    running = Server(process, base_url, log_path)
    try:
        wait_ready(running)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(running: Server, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"server exited with {running.process.returncode}; see {running.log_path}")
        try:
            if httpx.get(f"{running.base_url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server not ready after {timeout} s; see {running.log_path}")


def warm(running: Server, manifest: dict[str, Any]) -> float:
    """Load the pools' indexes (the first call opens the 100k pool's files) and run each route once."""
    headers = {"X-API-KEY": manifest["read_key"]}
    source, board = json.dumps([manifest["source_key"]]), json.dumps([manifest["board_key"]])
    started = time.perf_counter()
    with httpx.Client(base_url=f"{running.base_url}/v1/", headers=headers, timeout=600) as client:
        for job in manifest["job_keys"][:10]:
            params = {"source_keys": source, "board_key": manifest["board_key"], "job_key": job, "sort_by": "scoring"}
            client.get("profiles/scoring", params=params).raise_for_status()
        for profile in manifest["profile_keys"][:10]:
            params = {"board_keys": board, "source_key": manifest["source_key"], "profile_key": profile}
            client.get("jobs/scoring", params=params | {"sort_by": "scoring"}).raise_for_status()
        keywords = json.dumps(manifest["keywords"][:1])
        params = {"source_keys": source, "text_keywords": keywords, "sort_by": "created_at"}
        client.get("profiles/searching", params=params).raise_for_status()
    return time.perf_counter() - started


class RssSampler:
    """The server's resident memory every `every` seconds, on a thread of its own."""

    def __init__(self, running: Server, every: float) -> None:
        self.running, self.every = running, every
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            main, total, anonymous = self.running.rss_mb()
            elapsed = round(time.monotonic() - self.started, 1)
            self.running.rss.append((elapsed, round(main, 1), round(total, 1), round(anonymous, 1)))
            self.stop.wait(self.every)

    def close(self) -> list[tuple[float, float, float, float]]:
        self.stop.set()
        self.thread.join()
        return self.running.rss


# -- Locust ---------------------------------------------------------------------------------------


def locust(
    running: Server,
    manifest_path: Path,
    out: Path,
    prefix: str,
    users: int,
    spawn_rate: float,
    run_time: str,
    rate: float | None,
) -> Path:
    """One headless Locust run (one process); returns the samples file."""
    out.mkdir(parents=True, exist_ok=True)
    samples = out / f"{prefix}_samples.csv"
    env = {
        **os.environ,
        "CEREBRO_LOAD_MANIFEST": str(manifest_path),
        "CEREBRO_LOAD_SAMPLES": str(samples),
        "CEREBRO_LOAD_RATE": str(rate or ""),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        running.base_url,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        run_time,
        "--stop-timeout",
        "35",
        "--csv",
        str(out / prefix),
        "--html",
        str(out / f"{prefix}.html"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    before = cpu_accounts(running)
    subprocess.run(command, env=env, check=True, cwd=ROOT, timeout=seconds(run_time) + 300)
    after = cpu_accounts(running)
    spent = {name: after[name] - before[name] for name in before}
    others = spent["busy"] - spent["server"] - spent["locust"]
    cpu = {
        "wall_s": round(spent["wall"], 1),
        "server_cores": round(spent["server"] / spent["wall"], 2),
        "locust_cores": round(spent["locust"] / spent["wall"], 2),
        "other_processes_cores": round(max(others, 0.0) / spent["wall"], 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    (out / f"{prefix}_cpu.json").write_text(json.dumps(cpu))
    return samples


def cpu_accounts(running: Server) -> dict[str, float]:
    """CPU seconds so far: the whole machine busy, the server (and its children), Locust (finished children
    of this process: only Locust runs exit while a server runs)."""
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + machine.steal
    server = 0.0
    try:
        parent = psutil.Process(running.process.pid)
        for process in [parent, *parent.children(recursive=True)]:
            times = process.cpu_times()
            server += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": time.monotonic(),
        "busy": busy,
        "server": server,
        "locust": children.ru_utime + children.ru_stime,
    }


def run_cpu(out: Path, prefix: str) -> dict[str, Any] | None:
    path = out / f"{prefix}_cpu.json"
    return json.loads(path.read_text()) if path.exists() else None


def seconds(run_time: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(float(run_time[:-1]) * units[run_time[-1]]) if run_time[-1] in units else int(run_time)


# -- figures --------------------------------------------------------------------------------------


def is_scoring(name: str) -> bool:
    return name.startswith(("/v1/profiles/scoring", "/v1/jobs/scoring"))


def summarize(samples: Path, warmup: float, offered: float | None) -> dict[str, Any]:
    """Rates, outcomes and latencies (accepted requests) of the samples after the warm-up."""
    with open(samples, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {"requests": 0}
    first = min(float(r["start"]) for r in rows)
    rows = [r for r in rows if float(r["start"]) >= first + warmup]
    start, end = min(float(r["start"]) for r in rows), max(float(r["start"]) for r in rows)
    span = max(end - start, 1e-9)
    accepted = [r for r in rows if r["ok"] == "1" and not r["name"].endswith(THROTTLED)]
    throttled = [r for r in rows if r["name"].endswith(THROTTLED)]
    failed = [r for r in rows if r["ok"] != "1"]

    def latency(chosen: list[dict[str, str]]) -> dict[str, float] | None:
        if not chosen:
            return None
        values = np.array([float(r["ms"]) for r in chosen])
        return {
            "n": len(values),
            "p50": round(float(np.percentile(values, 50)), 1),
            "p90": round(float(np.percentile(values, 90)), 1),
            "p99": round(float(np.percentile(values, 99)), 1),
            "max": round(float(values.max()), 1),
        }

    names = sorted({r["name"] for r in rows})
    per_name = {}
    for name in names:
        mine = [r for r in rows if r["name"] == name]
        ok = [r for r in mine if r["ok"] == "1"]
        per_name[name] = {"requests": len(mine), "failures": len(mine) - len(ok), "latency": latency(ok)}
    statuses: dict[str, int] = {}
    for r in failed:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "window_s": round(span, 1),
        "offered_rps": offered,
        "sent_rps": round(len(rows) / span, 2),
        "achieved_rps": round(len(accepted) / span, 2),  # answered with a 2xx
        "requests": len(rows),
        "accepted": len(accepted),
        "throttled_429": len(throttled),
        "throttled_429_latency": latency(throttled),
        "failures": len(failed),
        "failure_statuses": statuses,
        "latency": latency(accepted),
        "scoring_latency": latency([r for r in accepted if is_scoring(r["name"])]),
        "scoring_stages": stages(
            [(float(r["ms"]), r.get("server_timing") or "") for r in accepted if is_scoring(r["name"])]
        ),
        "endpoints": per_name,
    }


def slope(points: list[tuple[float, float, float, float]], column: int = 1) -> float:
    """Least-squares slope in MiB per minute (column 1: the server process, 2: with its children, 3: the
    server's anonymous memory)."""
    t = np.array([p[0] for p in points]) / 60
    y = np.array([p[column] for p in points])
    return float(np.polyfit(t, y, 1)[0]) if len(points) >= 2 else float("nan")


def server_errors(log_path: Path) -> dict[str, int]:
    """Tracebacks and error lines the server logged."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "error_lines": sum(1 for line in text.splitlines() if " ERROR " in line or line.startswith("ERROR")),
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def code_commit(code: Path | None) -> str | None:
    if code is not None and (code / "COMMIT").exists():
        return (code / "COMMIT").read_text().strip()
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "cerebro_serve", "csrc"], capture_output=True, text=True, cwd=ROOT
        )
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


# -- phases ---------------------------------------------------------------------------------------


def phase_run(args: argparse.Namespace, seed_dir: Path) -> dict[str, Any]:
    """`make load`: one Locust run, its CSV and HTML report in --out."""
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    run_dir = fresh_copy(seed_dir, args.data_root / "run")
    manifest_path = run_dir / "manifest.json"
    with server(run_dir, args.code, args.workers) as running:
        log(f"server ready on {running.base_url}; warming")
        warm(running, json.loads(manifest_path.read_text()))
        sampler = RssSampler(running, 10)
        log(f"locust: {args.users} users, spawn rate {args.spawn_rate}/s, {args.run_time}")
        samples = locust(
            running, manifest_path, out, "load", args.users, args.spawn_rate, args.run_time, args.rate or None
        )
        rss = sampler.close()
    summary = summarize(samples, 0, args.users * args.rate if args.rate else None)
    summary.update(server=server_errors(running.log_path), rss_mb=[rss[0][1:], rss[-1][1:]] if rss else None)
    summary["cpu"] = run_cpu(out, "load")
    return summary


def phase_capacity(args: argparse.Namespace, seed_dir: Path) -> dict[str, Any]:
    out = args.out / "capacity"
    out.mkdir(parents=True, exist_ok=True)
    run_dir = fresh_copy(seed_dir, args.data_root / "run")
    manifest_path = run_dir / "manifest.json"
    steps: list[dict[str, Any]] = []
    capacity = None
    with server(run_dir, args.code, args.workers) as running:
        took = warm(running, json.loads(manifest_path.read_text()))
        log(f"server ready on {running.base_url}; warm-up took {took:.1f} s")
        sampler = RssSampler(running, 10)
        misses = 0
        for users in args.steps:
            offered = users * args.rate
            log(f"step: {users} users x {args.rate}/s = {offered:g} req/s offered, {args.step_time}")
            samples = locust(running, manifest_path, out, f"u{users:03d}", users, users, args.step_time, args.rate)
            step = summarize(samples, args.warmup, offered)
            step["users"] = users
            step["cpu"] = run_cpu(out, f"u{users:03d}")
            scoring = step["scoring_latency"] or {}
            step["within_target"] = (
                step["failures"] == 0
                and scoring.get("p99", float("inf")) <= args.p99_ms
                and step["achieved_rps"] >= 0.95 * offered
            )
            steps.append(step)
            log(
                f"  achieved {step['achieved_rps']} req/s; "
                f"scoring p50/p99 {scoring.get('p50')}/{scoring.get('p99')} ms; "
                f"all p99 {(step['latency'] or {}).get('p99')} ms; 429s {step['throttled_429']}; "
                f"failures {step['failures']}; within target: {step['within_target']}; cpu {step['cpu']}"
            )
            if step["within_target"]:
                misses = 0
                if capacity is None or step["achieved_rps"] > capacity["achieved_rps"]:
                    capacity = {"users": users, "offered_rps": offered, "achieved_rps": step["achieved_rps"]}
            else:
                misses += 1
                if misses >= 2:
                    break
        rss = sampler.close()
    return {
        "rate_per_user": args.rate,
        "p99_target_ms": args.p99_ms,
        "steps": steps,
        "capacity": capacity,
        "server": server_errors(running.log_path),
        "rss_mb": rss,
    }


def phase_steady(args: argparse.Namespace, seed_dir: Path, name: str, rss_every: float) -> dict[str, Any]:
    """A fresh server at users x rate for run_time (the 2x overload, the soak)."""
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    run_dir = fresh_copy(seed_dir, args.data_root / "run")
    manifest_path = run_dir / "manifest.json"
    environment = dict(setting.split("=", 1) for setting in args.server_env)
    with server(run_dir, args.code, args.workers, environment) as running:
        took = warm(running, json.loads(manifest_path.read_text()))
        log(f"server ready on {running.base_url}; warm-up took {took:.1f} s")
        sampler = RssSampler(running, rss_every)
        offered = args.users * args.rate
        log(f"{name}: {args.users} users x {args.rate}/s = {offered:g} req/s offered, {args.run_time}")
        samples = locust(running, manifest_path, out, name, args.users, args.spawn_rate, args.run_time, args.rate)
        rss = sampler.close()
    summary = summarize(samples, args.warmup, offered)
    summary.update(users=args.users, rate_per_user=args.rate, server=server_errors(running.log_path))
    summary["cpu"] = run_cpu(out, name)
    summary["rss_mb"] = {
        "every_s": rss_every,
        "samples": rss,
        "columns": ["seconds", "server MiB", "with children MiB", "server anonymous MiB"],
        "first": rss[0][1:] if rss else None,
        "last": rss[-1][1:] if rss else None,
        "slope_mb_per_min": round(slope(rss), 2) if len(rss) >= 2 else None,
        "slope_with_children_mb_per_min": round(slope(rss, 2), 2) if len(rss) >= 2 else None,
        # after the first third: the mapped index files paged in, the parsing sandbox started
        "slope_last_two_thirds_mb_per_min": round(slope(rss[len(rss) // 3 :]), 2) if len(rss) >= 6 else None,
        "slope_anonymous_last_two_thirds_mb_per_min": round(slope(rss[len(rss) // 3 :], 3), 2)
        if len(rss) >= 6
        else None,
    }
    with open(samples, newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = min(float(r["start"]) for r in rows)
    minutes: dict[int, list[float]] = {}
    for r in rows:
        if r["ok"] == "1" and not r["name"].endswith(THROTTLED) and is_scoring(r["name"]):
            minutes.setdefault(int((float(r["start"]) - first) // 60), []).append(float(r["ms"]))
    summary["scoring_p99_by_minute"] = {m: round(float(np.percentile(v, 99)), 1) for m, v in sorted(minutes.items())}
    summary["server_env"] = environment
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["run", "capacity", "overload", "soak"])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--base", choices=["all", "rjdb"], default="all", help="seed_load.py --base")
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/cerebro-load"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--code", type=Path, help="run the seeder and the server from this copy of the source")
    parser.add_argument("--snapshot", action="store_true", help="run them on HEAD's cerebro_serve (git archive)")
    parser.add_argument("--workers", type=int, help="CEREBRO_WORKERS for the server (unset when not given)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--run-time", default="2m")
    parser.add_argument(
        "--rate", type=float, default=0, help="requests/s per user (each user paced from a random phase)"
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 15, 20, 25, 30, 40, 50, 60])
    parser.add_argument("--step-time", default="60s")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of each run left out of the figures")
    parser.add_argument("--p99-ms", type=float, default=100)
    parser.add_argument("--no-lock", action="store_true", help="do not take /tmp/cerebro-bench.lock")
    parser.add_argument("--label", help="overload, soak: the results folder's name (default: the phase)")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="overload, soak: an environment variable for the server (MALLOC_ARENA_MAX=2, say); repeatable",
    )
    args = parser.parse_args()
    if args.phase in ("capacity", "overload", "soak") and args.rate <= 0:
        parser.error(f"{args.phase} needs --rate (requests/s per user)")
    args.data_root.mkdir(parents=True, exist_ok=True)
    if args.snapshot:
        args.code = snapshot(args.data_root)
    args.code = args.code.resolve() if args.code else None
    seed_dir = seeded(args.data_root, args.profiles, args.code, args.base)
    if not args.no_lock and not os.environ.get(LOCKED_ENV):
        # The timed part holds the bench lock; seeding (above) did not.
        log(f"waiting for {LOCK}")
        os.environ[LOCKED_ENV] = "1"
        os.execvp("flock", ["flock", LOCK, sys.executable, "-m", "bench.bench_load", *sys.argv[1:]])
    started = time.perf_counter()
    if args.phase == "run":
        result = phase_run(args, seed_dir)
    elif args.phase == "capacity":
        result = phase_capacity(args, seed_dir)
    else:
        result = phase_steady(args, seed_dir, args.label or args.phase, 10)
    result = {
        "phase": args.phase,
        "machine": machine(),
        "commit": code_commit(args.code),
        "profiles": args.profiles,
        "workers": args.workers,
        "wall_s": round(time.perf_counter() - started, 1),
        **result,
    }
    out = args.out / ("load_summary.json" if args.phase == "run" else f"{args.label or args.phase}/summary.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    brief = {k: v for k, v in result.items() if k not in ("steps", "endpoints", "rss_mb", "samples")}
    print(json.dumps(brief, indent=1))
    log(f"figures in {out}")


if __name__ == "__main__":
    main()
