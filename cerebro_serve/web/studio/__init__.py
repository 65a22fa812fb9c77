"""The Studio: the admin's pages (workspace, algorithms, training, copilots), behind a signed-in session."""

from __future__ import annotations

from litestar.handlers.http_handlers import HTTPRouteHandler

from cerebro_serve.web.studio.algorithms import algorithm_handlers
from cerebro_serve.web.studio.audits import audit_handlers
from cerebro_serve.web.studio.copilots import copilot_handlers
from cerebro_serve.web.studio.overview import overview_handlers
from cerebro_serve.web.studio.signin import signin_handlers
from cerebro_serve.web.studio.training import training_handlers


def studio_handlers() -> list[HTTPRouteHandler]:
    return [
        *signin_handlers,
        *overview_handlers,
        *algorithm_handlers,
        *training_handlers,
        *copilot_handlers,
        *audit_handlers,
    ]
