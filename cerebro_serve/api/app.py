"""The application factory: the `/v1` router behind the key guard, one envelope for every error."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from litestar import Litestar, Router
from litestar.config.app import AppConfig

from cerebro_serve.api.admission import Admission, admit_requests
from cerebro_serve.api.audit import record_exchanges
from cerebro_serve.api.auth import require_key
from cerebro_serve.api.disconnects import watch_disconnects
from cerebro_serve.api.envelope import error_envelope
from cerebro_serve.api.metrics import count_requests
from cerebro_serve.api.options import answer_options
from cerebro_serve.api.request_ids import tag_requests
from cerebro_serve.api.routes.algorithms import algorithm_handlers
from cerebro_serve.api.routes.audit import list_audit_events
from cerebro_serve.api.routes.auth import check_auth
from cerebro_serve.api.routes.copilots import copilot_handlers
from cerebro_serve.api.routes.docs import docs_handlers
from cerebro_serve.api.routes.explanations import explanation_handlers
from cerebro_serve.api.routes.fairness import fairness_handlers
from cerebro_serve.api.routes.feedback import feedback_handlers
from cerebro_serve.api.routes.health import healthz, readyz
from cerebro_serve.api.routes.metrics import metrics
from cerebro_serve.api.routes.parsing import get_profile_parsing, parse_job, parse_profile_file
from cerebro_serve.api.routes.pools import pool_handlers
from cerebro_serve.api.routes.ranking import ranking_handlers
from cerebro_serve.api.routes.records import record_handlers
from cerebro_serve.api.routes.text import text_handlers
from cerebro_serve.api.server_timing import time_requests
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace


def create_app(
    workspace: Workspace,
    max_body_bytes: int,
    on_app_init: Sequence[Callable[[AppConfig], AppConfig]] = (),
    admission: Admission | None = None,
) -> Litestar:
    """`on_app_init`: what else the server adds to the application (the web pages, `web.mount_pages`);
    `admission`: the line API requests wait in (no bound when None)."""
    v1 = Router(
        path="/v1",
        guards=[require_key],
        route_handlers=[
            check_auth,
            *pool_handlers(PROFILE),
            *pool_handlers(JOB),
            *record_handlers(PROFILE),
            *record_handlers(JOB),
            *ranking_handlers(),
            *explanation_handlers,
            parse_profile_file,
            get_profile_parsing,
            parse_job,
            *text_handlers,
            *algorithm_handlers,
            *feedback_handlers,
            list_audit_events,
            *fairness_handlers,
            *copilot_handlers,
        ],
    )
    app = Litestar(
        route_handlers=[v1, healthz, readyz, metrics, *docs_handlers()],
        exception_handlers={Exception: error_envelope},
        request_max_body_size=max_body_bytes,
        middleware=[record_exchanges, answer_options, watch_disconnects],
        on_shutdown=[lambda: workspace.close()],
        on_app_init=on_app_init,
        logging_config=None,  # the process's logging is configured once (cerebro_serve.logs), not per app
        openapi_config=None,  # api/openapi.py builds the document from the routes' contracts
    )
    app.state.workspace = workspace
    if admission is not None:
        line = admission
        workspace.metrics.watch_admission(lambda: (line.active, line.waiting, line.refused))
        app.asgi_handler = admit_requests(app.asgi_handler, line)
    app.asgi_handler = time_requests(app.asgi_handler)  # outside the line: its wait is a stage
    app.asgi_handler = count_requests(app.asgi_handler, workspace.metrics)  # outside routing: 404s and 429s count
    app.asgi_handler = tag_requests(app.asgi_handler)  # outermost: every answer and log line has its id
    return app
