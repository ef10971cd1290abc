"""Liveness and readiness: ready means the database and Redis both answer."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get

from gateway.services import services

CHECK_TIMEOUT = 2.0


class HealthController(Controller):
    path = "/health"
    include_in_schema = False

    @get("/live")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        svc = services(request)
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(svc.db.ping(), CHECK_TIMEOUT)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            if svc.redis is None:
                raise ConnectionError("no redis pool")
            await asyncio.wait_for(svc.redis.ping(), CHECK_TIMEOUT)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
