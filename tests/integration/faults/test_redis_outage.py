"""Redis stopped under load and started again: readiness says so, the API keeps taking payments (Redis only
speeds receipts and deliveries up), and once Redis is back the worker catches up with nothing lost or doubled."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway import embedded
from tests.support.fault_bench import Bench, wait_ready
from tests.support.fault_probes import assert_not_ready, under_load
from tests.support.fault_traffic import check_nothing_lost_or_doubled
from tests.support.services import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


async def test_stopping_redis_under_load_and_starting_it_again_loses_nothing(healthy: Bench) -> None:
    bench = healthy
    async with under_load(bench) as traffic:
        bench.redis.stop()
        assert not embedded.answers(bench.redis.url)
        before = len(traffic.orders)
        await assert_not_ready(bench.stack, "redis")
        # payments are taken and paid meanwhile: the hub's callbacks are applied without Redis
        await wait_for(lambda: sum(o.paid_at_hub for o in traffic.orders[before:]) >= 3, timeout=60, what="payments")
        during = [o for o in traffic.orders[before:] if o.paid_at_hub]
        async with bench.stack.client() as api:

            async def applied() -> bool:
                answers = [await api.get(f"/v1/payments/{o.payment['id']}") for o in during if o.payment]
                return all(a.json()["status"] == "paid" for a in answers)

            await wait_for(applied, timeout=30, what="callbacks applied while Redis is down")
        await asyncio.to_thread(bench.redis.start)
        await wait_ready(bench.stack)
    await traffic.finish()
    failures = traffic.failures()
    assert not failures, f"{failures[:5]} in {traffic.summary()}"
    assert all(a.status != 503 for a in traffic.answers), "the API does not need Redis"
    await check_nothing_lost_or_doubled(bench.stack, bench.portal_id, bench.receiver, traffic.orders)


async def test_the_gateway_starts_while_redis_is_down(healthy: Bench) -> None:
    """A gateway (re)started during a Redis outage serves the API, and becomes ready once Redis is back."""
    bench = healthy
    bench.redis.stop()
    bench.stack.processes["gateway"].stop()
    await asyncio.to_thread(bench.stack.start_gateway)
    await assert_not_ready(bench.stack, "redis")
    async with bench.stack.client() as api:
        listed = await api.get("/v1/payments", params={"dossier_code": "000.00.01.H26-NONE"})
        assert listed.status_code == 200, listed.text
    bench.redis.start()
    await wait_ready(bench.stack)
    async with httpx.AsyncClient(base_url=bench.stack.gateway_url, timeout=5) as probe:
        assert (await probe.get("/health/ready")).json()["checks"] == {"database": "ok", "redis": "ok"}
