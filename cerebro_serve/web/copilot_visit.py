"""A visit to a copilot's pages: the copilot its signed link opens, the candidate's session (Talent
Copilot), and links that carry both. The tokens travel in the URL, not in cookies: the pages live in
iframes on customers' sites, where browsers increasingly refuse third-party cookies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.response import Template

from cerebro_serve.services import Workspace
from cerebro_serve.services.copilots import Copilot
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.render import language, render


@dataclass(frozen=True)
class Visit:
    copilot: Copilot
    access: str  # the page token of the signed link
    expires_at: int  # when that link (and every page reached from it) stops opening, Unix seconds
    lang: str
    candidate: str | None = None  # the candidate's token (Talent Copilot, once a resume is uploaded)
    profile_key: str | None = None  # whose profile that token stands for

    def link(self, path: str = "", **params: Any) -> str:
        """A URL of this copilot's pages (`path` below `/copilot/<key>`) that keeps the visit going."""
        query: dict[str, Any] = {"access": self.access, "lang": self.lang}
        if self.candidate:
            query["candidate"] = self.candidate
        query |= {name: value for name, value in params.items() if value is not None and value != ""}
        return f"/copilot/{self.copilot.key}{path}?{urlencode(query, doseq=True)}"

    def with_candidate(self, workspace: Workspace, profile_key: str) -> Visit:
        token = workspace.copilots.candidate_token(self.copilot, profile_key, self.expires_at)
        return Visit(self.copilot, self.access, self.expires_at, self.lang, token, profile_key)


def open_visit(request: Request) -> Visit:
    """The visit a request's signed link opens (the copilot's key is the path's `{key}`); refused (401/403,
    as a page) when the link is not good."""
    workspace = workspace_of(request)
    copilot, expires_at = workspace.copilots.open(request.path_params["key"], request.query_params.get("access"))
    lang = language(request, copilot.settings.design.lang)
    candidate = request.query_params.get("candidate")
    profile_key = workspace.copilots.candidate(copilot, candidate)
    return Visit(
        copilot, request.query_params["access"], expires_at, lang, candidate if profile_key else None, profile_key
    )


async def visit_of(request: Request) -> Visit:
    """`open_visit` in a worker thread (it reads the store), for page handlers."""
    return await call(open_visit, request)


def readable_on(colour: str) -> str:
    """Near-black or white, whichever contrasts more with `colour` (#rrggbb): a customer's brand colours
    must not make its copilot's text unreadable (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#1b1b1f" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def copilot_page(request: Request, visit: Visit, template: str, *, status: int = 200, **context: Any) -> Template:
    """A copilot's page in its branding, embeddable only by its allowed origins."""
    return render(
        request,
        template,
        lang=visit.lang,
        status=status,
        frame_ancestors=visit.copilot.frame_ancestors(),
        visit=visit,
        copilot=visit.copilot,
        design=visit.copilot.settings.design,
        on_primary=readable_on(visit.copilot.settings.design.primary_colour),
        ink=readable_on(visit.copilot.settings.design.background_colour),
        **context,
    )
