"""Liveness and readiness. Live means the process answers (it never touches a dependency, so an outage does not
get the process restarted); ready means the database and Redis both answer within the health check timeout.
Not ready is a 503 problem (``not_ready``) naming each check, with Retry-After, so balancers drain the instance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from arq.connections import ArqRedis
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from gateway import metrics
from gateway.kernel.errors import Refused
from gateway.settings import Settings
from gateway.store.db import Database

from .problems import problem_response, retry_after


async def _check(probe: Callable[[], Awaitable[Any]], seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe()
    except TimeoutError:
        return "error: timed out"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


class HealthController(Controller):
    path = "/health"
    include_in_schema = False

    @get("/live")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready")
    async def ready(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        db: NamedDependency[Database],
        redis: NamedDependency[ArqRedis | None],
    ) -> Response[bytes]:
        timeout = settings.health_check_timeout

        async def ping_redis() -> None:
            if redis is None:
                raise ConnectionError("no redis client")
            await redis.ping()

        database, queue = await asyncio.gather(_check(db.ping, timeout), _check(ping_redis, timeout))
        checks = {"database": database, "redis": queue}
        if all(v == "ok" for v in checks.values()):
            body = msgspec.json.encode({"status": "ok", "checks": checks})
            return Response(body, status_code=200, media_type="application/json")
        down = ", ".join(name for name, v in checks.items() if v != "ok")
        if database != "ok":
            metrics.DATABASE_UNAVAILABLE.labels(where="ready").inc()
        problem = Refused(
            "not_ready",
            f"not available: {down}",
            retry_after=retry_after(request),
            extra={"checks": checks},
        )
        return problem_response(problem, request.url.path)
