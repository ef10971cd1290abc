"""Request metrics: every request a route takes is counted and timed by method, route template and the status it
was answered with (``gateway_requests_total``, ``gateway_request_duration_seconds``), and counted while under way
(``gateway_requests_in_progress``); see docs/operations.md. ``/metrics`` itself is not counted.

Two halves, because no one place sees both the route and the answer: ``RequestMetrics.middleware`` runs once the
route is known (an app-level middleware: the scope holds the route's template) and marks the request's start;
``RequestMetrics.answered`` is a ``before_send`` hook, which sees every answer the app sends, including those the
app's exception handler makes of a refusal raised before the handler ran (a missing API key, a rate limit, an
idempotency conflict), so those are counted under their own status, not as the route's success.

Each series' child is looked up once and kept, so a request pays a dictionary lookup per metric rather than
prometheus_client's label lookup under its lock. Route templates and their methods are the app's own and a status
is one of a few, so the kept children are few.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import REQUEST_SECONDS, REQUESTS, REQUESTS_IN_PROGRESS

NOT_COUNTED = frozenset({"/metrics"})
_STARTED = "request_metrics.started"  # in the scope's state: when the route took the request


class RequestMetrics:
    """``middleware`` among the app's middleware, ``answered`` among its ``before_send`` hooks."""

    def __init__(self) -> None:
        self._in_progress: dict[tuple[str, str], Any] = {}
        self._answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def middleware(self, app: ASGIApp) -> ASGIApp:
        in_progress = self._in_progress

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path_template", "")
            if scope["type"] != "http" or path in NOT_COUNTED:
                await app(scope, receive, send)
                return
            route = (scope["method"], path)
            gauge = in_progress.get(route)
            if gauge is None:
                gauge = in_progress[route] = REQUESTS_IN_PROGRESS.labels(*route)
            scope["state"][_STARTED] = time.perf_counter()
            gauge.inc()
            try:
                await app(scope, receive, send)
            finally:
                gauge.dec()

        return middleware

    async def answered(self, message: Message, scope: Scope) -> None:
        """Count and time the answer when it starts (its status is known then)."""
        if message["type"] != "http.response.start":
            return
        started = scope.get("state", {}).get(_STARTED)
        if started is None:  # no route took it (no such path or method), or /metrics
            return
        key = (scope["method"], scope["path_template"], message["status"])
        series = self._answered.get(key)
        if series is None:
            labels = (key[0], key[1], str(key[2]))
            series = self._answered[key] = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
        series[0].inc()
        series[1].observe(time.perf_counter() - started)
