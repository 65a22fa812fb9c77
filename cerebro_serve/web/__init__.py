"""The web pages: the Talent and Recruiter Copilots and the Studio, rendered on the server from Jinja
templates, with this package's own CSS and scripts (nothing is fetched from elsewhere). Pages call the
same services as the API, never what is below them."""

from __future__ import annotations

from pathlib import Path

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ExceptionHandler

from cerebro_serve.web.studio_session import shared_sessions

__all__ = ["mount_pages", "shared_sessions"]

HERE = Path(__file__).parent
PAGE_PREFIXES = ("/studio", "/copilot")


def mount_pages(config: AppConfig) -> AppConfig:
    """Add the pages to an application (Litestar's `on_app_init`)."""
    from cerebro_serve.web.routes import page_handlers

    config.template_config = TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)
    config.route_handlers.extend(
        [
            create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
            *page_handlers(),
        ]
    )
    config.exception_handlers = {**config.exception_handlers, NotFoundException: _not_found(config)}
    return config


def _not_found(config: AppConfig) -> ExceptionHandler:
    """A path no route matches is answered before any router's handlers: below the pages' prefixes the
    answer is a page, elsewhere whatever the application answered before."""
    from cerebro_serve.web.render import page_error

    previous = config.exception_handlers.get(NotFoundException) or config.exception_handlers[Exception]

    def not_found(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(PAGE_PREFIXES):
            return page_error(request, error)
        return previous(request, error)

    return not_found
