"""Health and metrics answer."""

from __future__ import annotations

import httpx

from tests.support.api import create
from tests.support.stack import Stack


async def test_health_and_metrics(stack: Stack, api: httpx.AsyncClient) -> None:
    await create(api)
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        assert (await client.get("/health/live")).json() == {"status": "ok"}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "gateway_requests_total" in metrics.text
    assert 'gateway_payments_created_total{outcome="pending"}' in metrics.text
