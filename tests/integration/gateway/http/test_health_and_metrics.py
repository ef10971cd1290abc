"""Health and metrics answer."""

from __future__ import annotations

import httpx

from tests.support.api import create
from tests.support.services import wait_for
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


def frozen(metrics: str) -> float:
    found = [line for line in metrics.splitlines() if line.startswith("gateway_gc_frozen_objects ")]
    assert len(found) == 1, "gateway_gc_frozen_objects is served once"
    return float(found[0].split()[-1])


async def worker_frozen(client: httpx.AsyncClient, stack: Stack) -> float:
    """The worker's count once its start-up is done (its metrics are served from the start of it)."""
    try:
        return frozen((await client.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics", timeout=5)).text)
    except httpx.TransportError:
        return 0.0


async def test_the_gateway_and_the_worker_keep_their_start_up_heap_out_of_the_collector(stack: Stack) -> None:
    """Once up, each served process has moved what it holds (modules, app, pools: well over 10,000 objects) to the
    collector's permanent generation, so a full collection no longer stops it for as long as it takes to walk it."""
    async with httpx.AsyncClient() as client:
        gateway = (await client.get(f"{stack.gateway_url}/metrics")).text
        worker = await wait_for(lambda: worker_frozen(client, stack), timeout=30, what="the worker's start-up")
    assert frozen(gateway) > 10_000
    assert worker > 10_000
