"""Request metrics: an ASGI middleware of the whole app that counts and times every request a route answers, by
method, route template and status (``gateway_requests_total``, ``gateway_request_duration_seconds``,
``gateway_requests_in_progress``; see docs/operations.md). ``/metrics`` itself is not counted.

Each series' child is looked up once and kept, so a request pays a dictionary lookup per metric rather than
prometheus_client's label lookup under its lock (a request's metrics were about a thirtieth of a hub callback's CPU
through Litestar's Prometheus middleware, which also built a ``Request`` and its labels each time). A route
template and its methods are the app's own and a status is one of a few, so the kept children are few.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import REQUEST_SECONDS, REQUESTS, REQUESTS_IN_PROGRESS

NOT_COUNTED = frozenset({"/metrics"})


def request_metrics(app: ASGIApp) -> ASGIApp:
    """Count and time each HTTP request that reaches a route (the route's template is in the scope)."""
    in_progress: dict[tuple[str, str], Any] = {}
    answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path_template", "")
        if scope["type"] != "http" or path in NOT_COUNTED:
            await app(scope, receive, send)
            return
        method: str = scope["method"]
        route = (method, path)
        gauge = in_progress.get(route)
        if gauge is None:
            gauge = in_progress[route] = REQUESTS_IN_PROGRESS.labels(method, path)
        started = time.perf_counter()
        status = 200
        seconds = 0.0

        async def timed(message: Message) -> None:
            nonlocal status, seconds
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                seconds = time.perf_counter() - started
            await send(message)

        gauge.inc()
        try:
            await app(scope, receive, timed)
        finally:
            gauge.dec()
            key = (method, path, status)
            series = answered.get(key)
            if series is None:
                labels = (method, path, str(status))
                series = answered[key] = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
            series[0].inc()
            series[1].observe(seconds)

    return middleware
