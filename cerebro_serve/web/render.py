"""What every page shares: its language, its Content-Security-Policy, and its error page.

The policy lets a page load only this server's own files (no network at run time) and run only its own
scripts; `frame-ancestors` says who may embed it (nobody for the Studio, the allowed origins for a copilot)."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Template

from cerebro_serve.services.errors import BatcherClosed, QueueFull, ServiceError
from cerebro_serve.web.i18n import LANGUAGE_NAMES, LANGUAGES, negotiate, translator

log = logging.getLogger(__name__)
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
BUSY = "The server is busy: please try again in {seconds} seconds."
RESTARTING = "The server is restarting: please try again in a moment."


def policy(frame_ancestors: str = "frame-ancestors 'none'") -> str:
    return f"{POLICY}; {frame_ancestors}"


def language(request: Request, default: str = "en") -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"), default)


def _with_param(request: Request, name: str, value: str) -> str:
    """This page's path and query with one parameter set (the language switch)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != name] + [(name, value)]
    return f"{request.url.path}?{urlencode(params)}"


def render(
    request: Request,
    template: str,
    *,
    lang: str | None = None,
    status: int = 200,
    frame_ancestors: str = "frame-ancestors 'none'",
    **context: Any,
) -> Template:
    """A page in the request's language (`lang` when the caller already chose it)."""
    lang = lang or language(request)
    t = translator(lang)
    return Template(
        template_name=template,
        context={
            "_": t.gettext,
            "lang": lang,
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "lang_url": lambda code: _with_param(request, "lang", code),
            **context,
        },
        status_code=status,
        headers={
            "Content-Security-Policy": policy(frame_ancestors),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def page_error(request: Request, error: Exception) -> Response[Any]:
    """Errors on page routes are pages too: the status, and what went wrong in plain words. An overloaded
    encoder or a server shutting down is a 503 that says when to try again, never a 500."""
    headers: dict[str, str] = {}
    if isinstance(error, QueueFull):
        seconds = max(1, math.ceil(error.retry_after))
        status, headers["Retry-After"] = 503, str(seconds)
        detail = translator(language(request)).gettext(BUSY, seconds=seconds)
    elif isinstance(error, BatcherClosed):
        status, detail, headers["Retry-After"] = 503, RESTARTING, "5"
    elif isinstance(error, ServiceError):
        status, detail = error.status, error.detail
    elif isinstance(error, NotFoundException):
        status, detail = 404, "There is no such page."
    elif isinstance(error, HTTPException):
        status, detail = error.status_code, str(error.detail)
    else:
        log.exception("page %s failed", request.url.path)
        status, detail = 500, "Something went wrong on our side. Please try again in a moment."
    page = render(request, "error.html", status=status, error_status=status, detail=detail)
    page.headers.update(headers)
    return page
