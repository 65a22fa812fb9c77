"""The workspace at a glance: sources and boards with their record counts, the parsing queue, the latest
API requests, and requests and latency per hour over the last day, all read from the audit trail (which
records every `/v1` request with its status and how long it took; the pages themselves are not in it)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Template
from markupsafe import Markup

from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace
from cerebro_serve.services.audit import AuditEvent
from cerebro_serve.services.queries import PoolListQuery
from cerebro_serve.services.timestamps import format_timestamp
from cerebro_serve.web.calls import call
from cerebro_serve.web.i18n import translator
from cerebro_serve.web.plots import Series, line_chart
from cerebro_serve.web.render import language, render
from cerebro_serve.web.studio_session import require_admin

HOUR_US = 3600 * 10**6
HOURS = 24
RECENT = 15  # requests listed
TRAFFIC_EVENTS = 20_000  # the newest requests charted: a busy day is sampled from its end, and the page says so
POOLS_SHOWN = 50


@dataclass(frozen=True)
class Traffic:
    """Requests per hour and their median latency, the hour ending now last (x: hours before now)."""

    requests: list[tuple[float, float]]
    latency_ms: list[tuple[float, float]]
    total: int
    sampled: bool  # more requests than charted: the chart starts later than a day ago


def traffic(events: Sequence[AuditEvent], now_us: int, limit: int) -> Traffic:
    hours: list[list[int]] = [[] for _ in range(HOURS)]
    for event in events:
        back = (now_us - event.at_us) // HOUR_US
        if 0 <= back < HOURS:
            hours[HOURS - 1 - back].append(event.latency_us)
    requests = [(float(index - HOURS + 1), float(len(hour))) for index, hour in enumerate(hours)]
    latency = [(float(i - HOURS + 1), statistics.median(hour) / 1000) for i, hour in enumerate(hours) if hour]
    return Traffic(requests, latency, len(events), len(events) >= limit)


def _charts(request: Request, shown: Traffic) -> list[Markup]:
    _ = translator(language(request)).gettext
    hours = _("Hours before now")
    return [
        line_chart(
            [Series(_("Requests"), shown.requests)],
            title=_("API requests per hour"),
            x_label=hours,
            y_label=_("Requests"),
            x_range=(1.0 - HOURS, 0.0),
        ),
        line_chart(
            [Series(_("Median latency"), shown.latency_ms)],
            title=_("Median latency per hour (ms)"),
            x_label=hours,
            y_label=_("Milliseconds"),
            x_range=(1.0 - HOURS, 0.0),
            caption=_("Time from a request's arrival to its answer, as the audit trail recorded it."),
        ),
    ]


def _activity(events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    return [
        {
            "method": event.method,
            "route": event.route,
            "status": event.status,
            "at": (format_timestamp(event.at_us) or "")[:19].replace("T", " ") + " UTC",
            "latency_ms": event.latency_us / 1000,
        }
        for event in events[:RECENT]
    ]


@get("/overview", guards=[require_admin])
async def overview(request: Request) -> Template:
    workspace: Workspace = request.app.state.workspace
    pools = PoolListQuery(limit=POOLS_SHOWN, order_by="asc")
    sources = await call(workspace.pools.list, PROFILE, pools)
    boards = await call(workspace.pools.list, JOB, pools)
    now_us = time.time_ns() // 1000
    events = await call(workspace.audit.recent, TRAFFIC_EVENTS, now_us - HOURS * HOUR_US)
    latest = await call(workspace.audit.recent, RECENT)
    shown = traffic(events, now_us, TRAFFIC_EVENTS)
    return render(
        request,
        "studio/overview.html",
        section="overview",
        sources=sources,
        boards=boards,
        parsing=await call(workspace.parsing.queue.counts),
        activity=_activity(latest),
        traffic=shown,
        charts=_charts(request, shown),
    )


overview_handlers = [overview]
