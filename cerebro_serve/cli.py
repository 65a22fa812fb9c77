"""`cerebro-serve`: run the server, manage a workspace's API keys, import historical feedback."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cerebro_serve.logs import configure_logging
from cerebro_serve.malloc_arenas import cap_arenas
from cerebro_serve.native_threads import limit_request_threads
from cerebro_serve.process_locks import try_lock
from cerebro_serve.settings import Settings
from cerebro_serve.store.backup import BackupError

if TYPE_CHECKING:  # the services load the model stack: imported when a command needs them
    from litestar import Litestar
    from litestar.config.app import AppConfig

    from cerebro_serve.cluster.pool_shards import PoolShards
    from cerebro_serve.engine.batcher import DynamicBatcher
    from cerebro_serve.engine.encoder import Encoder, PooledEncoder
    from cerebro_serve.services import Workspace
    from cerebro_serve.services.release_gate import GatePolicy

log = logging.getLogger("cerebro_serve")

# How long uvicorn's supervisor waits for a worker to answer (loading the model and the pools' indexes
# comes first) before it replaces it.
WORKER_START_SECONDS = 300


def open_batcher(encoder: PooledEncoder, settings: Settings) -> DynamicBatcher:
    """The dynamic batcher over `encoder`, tuned by the settings (the server's, a benchmark's, a test's)."""
    from cerebro_serve.engine.batcher import DynamicBatcher

    return DynamicBatcher(
        encoder,
        max_batch_tokens=settings.batch_tokens,
        max_wait_ms=settings.batch_wait_ms,
        max_pending=settings.max_pending,
        max_queue_seconds=settings.max_queue_seconds,
        encoder_nice=settings.encoder_nice,
    )


def gate_policy(settings: Settings) -> GatePolicy:
    """When the release gate holds a trained version for review."""
    from cerebro_serve.services.release_gate import GatePolicy

    return GatePolicy(min_impact_ratio=settings.gate_min_impact_ratio, max_drop=settings.gate_max_drop)


def build_workspace(settings: Settings, training_worker: bool | None = None) -> tuple[Workspace, DynamicBatcher]:
    """Open the store, load the encoder and wire the workspace (slow: loads the model). The caller closes
    the workspace, then the batcher."""
    from cerebro_serve.engine import load_encoder
    from cerebro_serve.parsing.documents import DocumentLimits
    from cerebro_serve.parsing.sandbox import DocumentSandbox
    from cerebro_serve.scoring.preparation import default_workers
    from cerebro_serve.services import Workspace
    from cerebro_serve.services.index_sync import IndexSharing
    from cerebro_serve.services.keys import resolve_admin_key
    from cerebro_serve.services.workspace_model import workspace_model
    from cerebro_serve.store import open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    admin_key, generated = resolve_admin_key(settings.api_key, settings.data_dir)
    if generated:
        print(
            f"Generated the workspace admin key (kept in {settings.data_dir / 'api_key'}):\n  {admin_key}", flush=True
        )
    store = open_store(settings.store_url)
    encoder = load_encoder(
        workspace_model(settings.model, store),
        settings.device,
        settings.precision,
        settings.backend,
        settings.model_cache_dir,
    )
    sandbox = DocumentSandbox(
        timeout_seconds=settings.parse_timeout_seconds,
        limits=DocumentLimits(max_bytes=settings.max_body_bytes),
    )
    batcher = open_batcher(encoder, settings)
    if training_worker is None:
        training_worker = settings.training_worker == "thread"
    workspace = Workspace(
        store,
        batcher,
        settings.index_dir,
        admin_key,
        sandbox,
        embed_max_chars=settings.embed_max_chars,
        audit_retention_days=settings.audit_retention_days,
        release_gate=gate_policy(settings),
        training_worker=training_worker,
        index_sharing=IndexSharing(settings.index_sync_seconds, settings.index_snapshot_changes),
        import_workers=default_workers() if settings.import_workers < 0 else settings.import_workers,
        shards=open_shards(settings, store.url, encoder),
    )
    return workspace, batcher


def open_shards(settings: Settings, store_url: str, encoder: Encoder) -> PoolShards | None:
    """The pools' shards on the Ray cluster of `CEREBRO_CLUSTER` (started, or joined when another front
    end started them); None without one."""
    if not settings.cluster:
        return None
    import ray

    from cerebro_serve.cluster.ray_shards import NAMESPACE, RayShards
    from cerebro_serve.engine.views import vectors_tag

    ray.init(address=settings.cluster, namespace=NAMESPACE, log_to_driver=False, ignore_reinit_error=True)
    return RayShards(
        store_url,
        vectors_tag(encoder.name),
        encoder.dimension,
        settings.shards,
        settings.shard_replicas,
        index_dir=(settings.index_dir / "shards").resolve(),
    )


def _load_demo(workspace: Workspace, settings: Settings) -> None:
    """The demo source and board on first start, then links to the demo's copilots."""
    from cerebro_serve.demo import load_demo

    if load_demo(workspace):
        log.info("demo data loaded")
    _print_copilot_links(workspace, f"http://{settings.host}:{settings.port}")


def _print_copilot_links(workspace: Workspace, origin: str) -> None:
    """Fresh pre-signed links to the workspace's copilots (valid 7 days), to open them at once."""
    from cerebro_serve.services.copilots import CopilotListQuery

    for copilot in workspace.copilots.list(CopilotListQuery(limit=10)).items:
        if not copilot["disabled"]:
            path, _ = workspace.copilots.presigned_path(copilot["key"])
            print(f"{copilot['type'].capitalize()} Copilot '{copilot['name']}': {origin}{path}", flush=True)


def serve(settings: Settings, demo: bool) -> int:
    cap_arenas(settings.malloc_arenas)  # before any thread allocates
    limit_request_threads(settings.request_threads)  # before FAISS and PyTorch load (and workers start)
    if settings.workers > 1:
        return serve_workers(settings, demo)
    import uvicorn

    from cerebro_serve.api.protocol import EnvelopedH11Protocol

    workspace, batcher = build_workspace(settings)
    if demo:
        _load_demo(workspace, settings)
    app = server_app(settings, workspace, batcher)
    print(f"Cerebro Serve on http://{settings.host}:{settings.port}/v1/  (docs: /docs, Studio: /studio)", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            log_level="info",
            http=EnvelopedH11Protocol,
            timeout_graceful_shutdown=settings.drain_seconds,  # then requests still running are cancelled
        )
    )
    # uvicorn takes SIGINT and SIGTERM while it serves, and once stopped raises the signal again for the
    # handler it found: this one only asks the server to stop, so a graceful stop exits 0 (and a signal
    # before serving began stops it as it starts).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: setattr(server, "should_exit", True))
    server.run()
    batcher.close()  # once the app (and its workspace) has shut down
    return 0 if server.started else 3  # 3: could not start (a port in use), as uvicorn.run exits


def drain_before_closing(
    workspace: Workspace, batcher: DynamicBatcher, seconds: float
) -> Callable[[AppConfig], AppConfig]:
    """Shutdown hooks run in order, and create_app's closes the workspace (saving the indexes, closing the
    store); this one goes first: background jobs stop, then the batcher finishes the requests it admitted
    (uvicorn has let the requests in flight end, or cancelled them after `seconds`) and refuses new ones
    with a 503, so the indexes are saved after the last write."""

    def drain() -> None:
        workspace.stop_background()
        if not batcher.drain(seconds):
            log.warning("the encoder was still busy after %g s: saving the indexes without its last work", seconds)

    def add(config: AppConfig) -> AppConfig:
        config.on_shutdown = [drain, *config.on_shutdown]
        return config

    return add


def serve_workers(settings: Settings, demo: bool) -> int:
    """`settings.workers` processes on one port (uvicorn's supervisor starts them and replaces one that
    dies). The store is prepared here once (schema, admin key, demo); then each worker opens its own
    workspace (`worker_app`), maps the pools' index files that the first of them publishes, and applies
    the others' writes from the store within `CEREBRO_INDEX_SYNC_SECONDS`."""
    import uvicorn

    from cerebro_serve.api.protocol import EnvelopedH11Protocol

    workspace, batcher = build_workspace(settings, training_worker=False)
    try:
        if demo:
            _load_demo(workspace, settings)
    finally:
        workspace.close()
        batcher.close()
    os.environ.update(settings.environment())  # what each worker reads back (flags included)
    print(
        f"Cerebro Serve on http://{settings.host}:{settings.port}/v1/ with {settings.workers} workers "
        "(docs: /docs, Studio: /studio)",
        flush=True,
    )
    uvicorn.run(
        "cerebro_serve.cli:worker_app",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level="info",
        http=EnvelopedH11Protocol,
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        timeout_graceful_shutdown=settings.drain_seconds,
    )
    return 0


def worker_app() -> Litestar:
    """The application of one worker process (uvicorn calls this in each). The worker that takes the
    data dir's leader lock runs the training and audit workers (when they run inside the server); every
    worker keeps its pools' indexes in step with the store."""
    settings = Settings.from_env()
    cap_arenas(settings.malloc_arenas)
    configure_logging(settings.log_format)
    limit_request_threads(settings.request_threads)
    # The lock's descriptor is never closed: this worker leads until it ends.
    leads = try_lock(settings.data_dir / "leader.lock") is not None
    workspace, batcher = build_workspace(settings, training_worker=leads and settings.training_worker == "thread")

    def close_batcher_last(config: AppConfig) -> AppConfig:
        config.on_shutdown = [*config.on_shutdown, batcher.close]  # after the workspace's own close
        return config

    return server_app(settings, workspace, batcher, close_batcher_last)


def server_app(
    settings: Settings, workspace: Workspace, batcher: DynamicBatcher, *more: Callable[[AppConfig], AppConfig]
) -> Litestar:
    """The API and the pages over one workspace, with Studio sessions under the data dir (shared by the
    workers) and the drain that runs before the workspace closes."""
    from cerebro_serve.api import create_app
    from cerebro_serve.api.admission import Admission, AdmissionLimits
    from cerebro_serve.web import mount_pages, shared_sessions

    # A request thread that comes back from the store or from FAISS (both release the GIL) waits for it
    # up to this long behind a thread computing in Python: the convoy that makes short requests slow.
    sys.setswitchinterval(settings.switch_interval_ms / 1000)

    limits = AdmissionLimits(
        settings.max_active_requests, settings.max_waiting_requests, settings.max_request_wait_ms / 1000
    )
    return create_app(
        workspace,
        max_body_bytes=settings.max_body_bytes,
        admission=Admission(limits) if settings.max_active_requests > 0 else None,
        on_app_init=[
            mount_pages,
            shared_sessions(settings.data_dir / "sessions"),
            drain_before_closing(workspace, batcher, settings.drain_seconds),
            *more,
        ],
    )


def create_key(settings: Settings, permission: str) -> int:
    from cerebro_serve.services.keys import KeyRing, resolve_admin_key
    from cerebro_serve.store import open_store

    admin_key, _ = resolve_admin_key(settings.api_key, settings.data_dir)
    store = open_store(settings.store_url)
    try:
        print(KeyRing(store, admin_key).create(permission))  # type: ignore[arg-type]  # argparse's choices keep it to all, read or write
    finally:
        store.close()
    return 0


def verify_audit(settings: Settings) -> int:
    """Walk the audit trail's hash chain; exit 1 at the first event that was changed, removed or reordered."""
    from cerebro_serve.store import open_store

    store = open_store(settings.store_url)
    try:
        result = store.audit.verify()
    finally:
        store.close()
    if result.broken_at is not None:
        print(f"audit trail broken at event {result.broken_at} (after {result.checked} good events)")
        return 1
    print(f"audit trail intact: {result.checked} events")
    return 0


def worker(settings: Settings) -> int:
    """Run trainings beside the server (which then runs with CEREBRO_TRAINING_WORKER=external): the
    store is the queue, so this process needs no other link to the server."""
    import signal
    import threading

    workspace, batcher = build_workspace(settings, training_worker=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print("Cerebro Serve training worker: waiting for trainings (Ctrl-C to stop)", flush=True)
    stop.wait()
    workspace.close()
    batcher.close()
    return 0


def finetune_encoder(settings: Settings, algorithm_key: str, mode: str, out: Path, epochs: int) -> int:
    """Fine-tune the workspace's encoder on an algorithm's feedback (meant for GPU nodes), into `out`."""
    import json

    from cerebro_serve.engine.hardware import resolve_device
    from cerebro_serve.engine.models import MULTILINGUAL_MODEL, resolve_model_dir
    from cerebro_serve.services.workspace_model import workspace_model

    workspace, batcher = build_workspace(settings, training_worker=False)
    try:
        model = workspace_model(settings.model, workspace.store)
        if model == MULTILINGUAL_MODEL:
            raise ValueError("the multilingual USE encoder cannot be fine-tuned here; use a transformer model")
        _, model_dir = resolve_model_dir(model, settings.model_cache_dir)
        report = workspace.training.finetune_encoder(
            algorithm_key, mode, model_dir, out, resolve_device(settings.device), epochs
        )
    finally:
        workspace.close()
        batcher.close()
    print(json.dumps({name: value for name, value in report.items() if name != "workflow"}, indent=2))
    print(f"To serve it: CEREBRO_MODEL={out} (every record is embedded again at the next start).")
    return 0


def import_feedback(settings: Settings, kind: str, path: Path) -> int:
    """Historical ratings or trackings from a JSONL file; run it again after an interruption and only the
    lines that had not landed are stored."""
    workspace, batcher = build_workspace(settings, training_worker=False)
    try:
        with open(path, "rb") as lines:
            report = workspace.feedback.import_lines(kind, lines)
    finally:
        workspace.close()
        batcher.close()
    for number, reason in report.rejected:
        print(f"{path}:{number}: {reason}", file=sys.stderr)
    print(f"{report.stored} stored, {report.duplicates} already stored, {len(report.rejected)} rejected")
    return 1 if report.rejected else 0


def import_records(settings: Settings, kind_name: str, pool_key: str, path: Path) -> int:
    """Profiles or jobs from a JSONL file, or resumes from a folder, with a progress bar; run it again after
    an interruption and only what had not landed is stored."""
    from tqdm import tqdm

    from cerebro_serve.objects import JOB, PROFILE
    from cerebro_serve.services.errors import ServiceError

    kind = PROFILE if kind_name == "profiles" else JOB
    if path.is_dir() and kind is not PROFILE:
        raise ValueError("a folder is read as resumes: import it into a source (`import profiles`)")
    if not path.exists():
        raise ValueError(f"there is no {path}")
    total = sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else _count_lines(path)
    workspace, batcher = build_workspace(settings, training_worker=False)
    try:
        with tqdm(total=total, unit=" records", dynamic_ncols=True) as bar:
            if path.is_dir():
                summary = workspace.importer.import_resumes(pool_key, path, bar.update)
            else:
                summary = workspace.importer.import_lines(kind, pool_key, path, bar.update)
    except ServiceError as error:  # the pool is unknown
        print(f"cerebro-serve: {error.message}", file=sys.stderr)
        return 2
    finally:
        workspace.close()
        batcher.close()
    for where, reason in summary.refused:
        print(f"{where}: {reason}", file=sys.stderr)
    print(f"{summary.stored} stored, {summary.already} already stored, {len(summary.refused)} refused")
    return 1 if summary.refused else 0


def _count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def backup(settings: Settings, directory: Path) -> int:
    """The store (a consistent copy while the server runs), the index files and the admin key."""
    from cerebro_serve.store.backup import backup_store, copy_tree

    manifest = backup_store(settings.store_url, directory)
    files = copy_tree(settings.index_dir, directory / "indexes")
    key_file = settings.data_dir / "api_key"
    if key_file.exists():
        shutil.copy2(key_file, directory / "api_key")
    print(
        f"backed up the {manifest.dialect} store (schema {manifest.schema_version}) and {files} index files "
        f"to {directory}"
    )
    return 0


def restore(settings: Settings, directory: Path) -> int:
    """Into an empty store: the backup's store, its index files, and its admin key unless one is set."""
    from cerebro_serve.store.backup import copy_tree, restore_store

    manifest = restore_store(settings.store_url, directory)
    files = copy_tree(directory / "indexes", settings.index_dir)
    key_file = settings.data_dir / "api_key"
    if (directory / "api_key").exists() and not key_file.exists() and not settings.api_key:
        shutil.copy2(directory / "api_key", key_file)
    print(f"restored the {manifest.dialect} store of {manifest.created_at} and {files} index files")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cerebro-serve", description="HrFlow-compatible talent-matching server")
    parser.add_argument("--data-dir", type=Path, help="where the store, indexes and key live (CEREBRO_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the HTTP server")
    serve_parser.add_argument("--host", help="interface to bind (CEREBRO_HOST, default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (CEREBRO_PORT, default 8000)")
    serve_parser.add_argument("--data-dir", type=Path, dest="serve_data_dir", help=argparse.SUPPRESS)
    serve_parser.add_argument("--demo", action="store_true", help="load the demo source and board on first start")

    keys_parser = commands.add_parser("create-key", help="issue an extra API key")
    keys_parser.add_argument("--permission", choices=["all", "read", "write"], default="read")

    commands.add_parser("verify-audit", help="check the audit trail's hash chain (exit 1 if it was tampered with)")
    commands.add_parser("worker", help="run queued trainings (beside a server with CEREBRO_TRAINING_WORKER=external)")
    tune_parser = commands.add_parser("finetune-encoder", help="fine-tune the encoder on an algorithm's feedback (GPU)")
    tune_parser.add_argument("algorithm_key")
    tune_parser.add_argument("--out", type=Path, required=True, help="where to write the fine-tuned model")
    tune_parser.add_argument("--mode", choices=["rating", "tracking"], default="rating")
    tune_parser.add_argument("--epochs", type=int, default=1)
    records_parser = commands.add_parser(
        "import", help="import profiles or jobs (JSONL of HrFlow objects, or a folder of resumes) into a pool"
    )
    records_parser.add_argument("kind", choices=["profiles", "jobs"])
    records_parser.add_argument("pool_key", help="the source (profiles) or board (jobs) to import into")
    records_parser.add_argument("path", type=Path, help="a .jsonl file, or a folder of resume files")
    backup_parser = commands.add_parser("backup", help="copy the store, the index files and the key to a folder")
    backup_parser.add_argument("directory", type=Path)
    restore_parser = commands.add_parser("restore", help="restore a backup into an empty store")
    restore_parser.add_argument("directory", type=Path)
    import_parser = commands.add_parser("import-feedback", help="import ratings or trackings from a JSONL file")
    import_parser.add_argument("kind", choices=["rating", "tracking"])
    import_parser.add_argument("path", type=Path, help="one JSON object per line, the fields of POST /v1/<kind>")

    args = parser.parse_args(argv)
    data_dir = getattr(args, "serve_data_dir", None) or args.data_dir
    try:
        configure_logging(Settings.from_env(data_dir=data_dir).log_format)
        if args.command == "serve":
            settings = Settings.from_env(data_dir=data_dir, host=args.host, port=args.port)
            return serve(settings, args.demo)
        if args.command == "verify-audit":
            return verify_audit(Settings.from_env(data_dir=data_dir))
        if args.command == "worker":
            return worker(Settings.from_env(data_dir=data_dir))
        if args.command == "finetune-encoder":
            settings = Settings.from_env(data_dir=data_dir)
            return finetune_encoder(settings, args.algorithm_key, args.mode, args.out, args.epochs)
        if args.command == "import":
            return import_records(Settings.from_env(data_dir=data_dir), args.kind, args.pool_key, args.path)
        if args.command == "backup":
            return backup(Settings.from_env(data_dir=data_dir), args.directory)
        if args.command == "restore":
            return restore(Settings.from_env(data_dir=data_dir), args.directory)
        if args.command == "import-feedback":
            return import_feedback(Settings.from_env(data_dir=data_dir), args.kind, args.path)
        return create_key(Settings.from_env(data_dir=data_dir), args.permission)
    except ValueError as error:
        print(f"cerebro-serve: {error}", file=sys.stderr)
        return 2
    except BackupError as error:
        print(f"cerebro-serve: {error}", file=sys.stderr)
        return 1
