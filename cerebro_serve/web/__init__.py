"""The web pages: the Talent and Recruiter Copilots and the Studio, rendered on the server from Jinja
templates, with this package's own CSS and scripts (nothing is fetched from elsewhere). Pages call the
same services as the API, never what is below them."""

from __future__ import annotations

from pathlib import Path

from litestar.config.app import AppConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

HERE = Path(__file__).parent


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
    return config
