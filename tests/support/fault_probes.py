"""Probes of a gateway under a fault: load for the length of a block, and the answers an outage must give."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.support.fault_bench import CLIENT_TIMEOUT, READY_WITHIN, Bench
from tests.support.fault_traffic import Traffic
from tests.support.services import wait_for


@asynccontextmanager
async def under_load(bench: Bench) -> AsyncIterator[Traffic]:
    """Portal traffic running for the whole block; the block starts once some payments went through."""
    traffic = Traffic(bench.stack)
    stop = asyncio.Event()
    task = asyncio.create_task(traffic.run(stop))
    try:
        try:
            await wait_for(lambda: sum(o.paid_at_hub for o in traffic.orders) >= 3, timeout=60, what="traffic")
        except AssertionError as error:
            raise AssertionError(f"{error}: {traffic.summary()}") from None
        yield traffic
    finally:
        stop.set()
        await task


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, code: str = "database_unavailable") -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert int(response.headers["retry-after"]) > 0


async def assert_not_ready(stack: Any, failing: str) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as probe:
        ready, seconds = await timed(probe.get("/health/ready"))
        assert_unavailable(ready, "not_ready")
        assert ready.json()["checks"][failing] != "ok"
        assert seconds < READY_WITHIN, f"readiness took {seconds:.1f} s"
        live, seconds = await timed(probe.get("/health/live"))
        assert live.status_code == 200 and seconds < 1
