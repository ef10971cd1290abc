"""The gateway and the worker killed repeatedly under load, and stopped gracefully (SIGTERM): nothing lost or
doubled after a kill; after a SIGTERM, what was under way finishes within the grace period (no 5xx to a request
already accepted, a job not run twice), what outlasts it is abandoned cleanly, and the process exits in bounded
time."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from sqlalchemy import func, select

from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from tests.support.fault_bench import CLIENT_TIMEOUT, FAULT_SETTINGS, Bench, new_key, wait_ready
from tests.support.fault_probes import under_load
from tests.support.fault_traffic import check_nothing_lost_or_doubled
from tests.support.services import wait_for
from tests.support.stack import payment_body
from tests.support.webhook_receiver import Delivery

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

EXIT_MARGIN = 5.0  # seconds a process may take to exit beyond its grace period (closing its connections)


async def test_killing_the_gateway_and_the_worker_repeatedly_loses_and_doubles_nothing(healthy: Bench) -> None:
    bench, stack = healthy, healthy.stack
    async with under_load(bench) as traffic:
        for _ in range(3):
            stack.processes["gateway"].kill(signal.SIGKILL)
            await asyncio.to_thread(stack.start_gateway)
            stack.processes["worker"].kill(signal.SIGKILL)
            stack.start_worker()
            await wait_for(lambda n=len(traffic.orders): len(traffic.orders) > n + 3, timeout=60, what="progress")
    await wait_ready(stack)
    await traffic.finish()
    failures = traffic.failures(gateway_down=True)
    assert not failures, f"{failures[:5]} in {traffic.summary()}"
    await check_nothing_lost_or_doubled(stack, bench.portal_id, bench.receiver, traffic.orders)


def sigterm(bench: Bench, name: str) -> float:
    """Send SIGTERM to the process; returns when it was sent (monotonic)."""
    process = bench.stack.processes[name].process
    assert process is not None
    os.killpg(process.pid, signal.SIGTERM)
    return time.monotonic()


async def exited(bench: Bench, name: str, within: float) -> float:
    process = bench.stack.processes[name].process
    assert process is not None
    started = time.monotonic()
    await wait_for(lambda: process.poll() is not None, timeout=within, interval=0.05, what=f"{name} to exit")
    return time.monotonic() - started


async def hub_orders(bench: Bench) -> int:
    async with bench.stack.hub() as hub:
        return len((await hub.get("/control/payments")).json())


async def test_sigterm_lets_the_gateways_requests_under_way_finish(healthy: Bench) -> None:
    bench = healthy
    async with bench.stack.hub() as hub:
        await hub.put("/control/faults", json={"init": {"stall_seconds": 1.5}})  # within the 2 s read timeout
    before = await hub_orders(bench)
    async with bench.stack.client() as api:
        calls = [
            asyncio.create_task(api.post("/v1/payments", json=payment_body(), headers=new_key())) for _ in range(4)
        ]
        await wait_for(lambda: _count_at_least(bench, before + 4), timeout=15, what="the requests under way")
        sigterm(bench, "gateway")
        answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    await exited(bench, "gateway", within=8 + EXIT_MARGIN)
    with pytest.raises(httpx.ConnectError):  # a stopped gateway refuses connections: a balancer goes elsewhere
        async with httpx.AsyncClient(base_url=bench.stack.gateway_url, timeout=CLIENT_TIMEOUT) as late:
            await late.get("/health/live")


async def _count_at_least(bench: Bench, count: int) -> bool:
    return await hub_orders(bench) >= count


async def test_sigterm_abandons_what_outlasts_the_grace_period_and_the_gateway_exits_in_time(healthy: Bench) -> None:
    bench, stack = healthy, healthy.stack
    stack.extra_env.update({"SHUTDOWN_GRACE_SECONDS": "1", "PAYHUB_READ_TIMEOUT": "20"})
    stack.processes["gateway"].stop()
    await asyncio.to_thread(stack.start_gateway)
    async with stack.hub() as hub:
        await hub.put("/control/faults", json={"init": {"stall_seconds": 10}})
    before = await hub_orders(bench)
    body, key = payment_body(), new_key()
    async with stack.client() as api:
        call = asyncio.create_task(api.post("/v1/payments", json=body, headers=key))
        await wait_for(lambda: _count_at_least(bench, before + 1), timeout=15, what="the request under way")
        sigterm(bench, "gateway")
        took = await exited(bench, "gateway", within=1 + EXIT_MARGIN)
        try:
            answer: Any = await call
        except httpx.TransportError as error:  # the connection closed: the portal retries with its key
            answer = error
    assert took < 1 + EXIT_MARGIN
    if not isinstance(answer, httpx.TransportError):  # answered before the process went: a problem to retry
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "shutting_down"
        assert answer.headers["retry-after"] == "1"
    stack.extra_env.clear()
    async with stack.hub() as hub:
        await hub.delete("/control/faults")
    await asyncio.to_thread(stack.start_gateway)
    async with stack.client() as api:

        async def resumed() -> httpx.Response | None:
            again = await api.post("/v1/payments", json=body, headers=key)
            return again if again.status_code == 201 else None

        again = await wait_for(resumed, timeout=stack_lock_seconds() + 10, interval=0.5, what="the retry")
    assert again.json()["dossier_code"] == body["dossier_code"]
    assert stack.db is not None
    async with stack.db.read() as conn:
        same = select(func.count()).select_from(pt.payments).where(pt.payments.c.dossier_code == body["dossier_code"])
        assert (await conn.execute(same)).scalar_one() == 1


def stack_lock_seconds() -> float:
    return float(FAULT_SETTINGS["IDEMPOTENCY_LOCK_SECONDS"])


class FirstAnswer:
    """The receiver's answers for one test: ``mode`` to the first delivery, "ok" to the rest."""

    def __init__(self, mode: str) -> None:
        self.mode, self.seen = mode, 0

    def __call__(self, delivery: Delivery) -> str:
        self.seen += 1
        return self.mode if self.seen == 1 else "ok"


async def outbox_state(bench: Bench, event_id: str) -> str:
    assert bench.stack.db is not None
    async with bench.stack.db.read() as conn:
        return str((await conn.execute(select(ot.outbox.c.dispatch_state).where(ot.outbox.c.id == event_id))).scalar())


async def delivery_tries(bench: Bench, event_id: str) -> list[int]:
    """The tries of the finished delivery jobs that carried the event (arq keeps each job's result)."""
    assert bench.stack.db is not None
    async with bench.stack.db.read() as conn:
        position = (await conn.execute(select(ot.outbox.c.position).where(ot.outbox.c.id == event_id))).scalar_one()
    queue = await create_pool(RedisSettings.from_dsn(bench.redis.url))
    try:
        results = await queue.all_job_results()
    finally:
        await queue.aclose()
    return sorted(r.job_try for r in results if r.function == "deliver_events" and position in r.args[2])


async def one_event_in_flight(bench: Bench, mode: str) -> str:
    """Create a payment and wait until its first event is being delivered (the receiver holds the request)."""
    receiver = bench.receiver
    count = len(receiver.deliveries)
    receiver.answer = FirstAnswer(mode)
    async with bench.stack.client() as api:
        created = await api.post("/v1/payments", json=payment_body(), headers=new_key())
        assert created.status_code == 201, created.text
    await wait_for(lambda: len(receiver.deliveries) > count, timeout=30, what="the delivery under way")
    # the one answered ``mode`` (the first after ``count``): others may have arrived since, answered "ok"
    return receiver.deliveries[count].headers["gateway-event-id"]


async def test_sigterm_lets_the_workers_job_under_way_finish_once(healthy: Bench) -> None:
    bench = healthy
    try:
        event_id = await one_event_in_flight(bench, "delay")
        sigterm(bench, "worker")
        await exited(bench, "worker", within=8 + EXIT_MARGIN)
        assert await outbox_state(bench, event_id) == "delivered", "the job finished before the worker exited"
        bench.stack.start_worker()
        await wait_ready(bench.stack)
        copies = [d for d in bench.receiver.deliveries if d.headers.get("gateway-event-id") == event_id]
        assert len(copies) == 1
        tries = await wait_for(lambda: delivery_tries(bench, event_id), timeout=15, what="the job's result")
        assert tries == [1], "the job ran once"
    finally:
        bench.receiver.answer = lambda _d: "ok"


async def test_sigterm_abandons_a_job_that_outlasts_the_grace_period_and_it_runs_again_once(healthy: Bench) -> None:
    bench, stack = healthy, healthy.stack
    stack.extra_env.update({"SHUTDOWN_GRACE_SECONDS": "1"})
    stack.processes["worker"].stop()
    stack.start_worker()
    try:
        event_id = await one_event_in_flight(bench, "slow")  # the receiver holds it for 30 s
        sigterm(bench, "worker")
        await exited(bench, "worker", within=1 + EXIT_MARGIN)
        assert await outbox_state(bench, event_id) == "pending", "abandoned, not recorded"
        stack.extra_env.clear()
        stack.start_worker()

        async def delivered() -> bool:
            return await outbox_state(bench, event_id) == "delivered"

        await wait_for(delivered, timeout=60, what="the abandoned delivery to run again")
        tries = await wait_for(lambda: delivery_tries(bench, event_id), timeout=15, what="the job's result")
        assert 2 in tries and max(tries) == 2, f"the abandoned job runs again exactly once: {tries}"
        assert event_id in bench.receiver.unique()
    finally:
        bench.receiver.answer = lambda _d: "ok"
