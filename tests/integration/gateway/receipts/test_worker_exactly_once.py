"""Exactly one receipt per payment, however often its job runs and wherever the worker dies."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool

from gateway.jobs import ISSUE_RECEIPT as ISSUE_JOB
from gateway.store.tables.receipts import receipts
from tests.support.api import create, pay, wait_status
from tests.support.receipts import assert_series_gap_free, receipt_of, receipt_rows
from tests.support.services import wait_for
from tests.support.stack import Stack


@pytest.fixture
async def queue(stack: Stack) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(stack.redis_url), default_queue_name=stack.queue)
    try:
        yield pool
    finally:
        await pool.aclose()


@pytest.fixture
async def worker_stopped(stack: Stack) -> AsyncIterator[None]:
    """The worker is down for the test's first part; it is running again afterwards, whatever happened."""
    stack.processes["worker"].stop()
    try:
        yield
    finally:
        if stack.processes["worker"].process.poll() is not None:  # type: ignore[union-attr]
            stack.start_worker()


async def test_a_job_run_three_times_issues_one_receipt(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack, queue: ArqRedis, worker_stopped: None
) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"])  # its callback queues the receipt job while no worker runs
    await wait_status(api, payment["id"], "paid")
    jobs = [
        await queue.enqueue_job(ISSUE_JOB, "payment", payment["id"], _job_id=f"again-{secrets.token_hex(4)}")
        for _ in range(2)
    ]
    stack.start_worker()
    results = [await job.result(timeout=30) for job in jobs if job is not None]
    receipt = await receipt_of(api, payment["id"])
    assert results == [receipt["id"], receipt["id"]]
    rows = await receipt_rows(stack, receipts.c.source_id == payment["id"])
    assert len(rows) == 1
    await assert_series_gap_free(stack)


async def test_a_worker_killed_while_issuing_leaves_exactly_one_receipt_each(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack, worker_stopped: None
) -> None:
    payments = [await create(api) for _ in range(40)]
    for payment in payments:
        await pay(hub, payment["reference"])
    for payment in payments:
        await wait_status(api, payment["id"], "paid")
    ids = [p["id"] for p in payments]

    async def issued() -> int:
        return len(await receipt_rows(stack, receipts.c.source_id.in_(ids)))

    worker = stack.start_worker()
    await wait_for(issued, timeout=30, interval=0.005, what="the first receipts")
    worker.kill()  # SIGKILL, in the middle of the queue of receipt jobs
    killed_at = await issued()
    assert 0 < killed_at < len(ids), "the worker died with receipts still to issue"
    stack.start_worker()
    await wait_for(lambda: _all_issued(stack, ids), timeout=60, what="every receipt after the restart")
    rows = await receipt_rows(stack, receipts.c.source_id.in_(ids))
    assert sorted(r.source_id for r in rows) == sorted(ids), "exactly one receipt per payment"
    await assert_series_gap_free(stack)
    for payment in payments[:3]:
        assert (await receipt_of(api, payment["id"]))["status"] == "issued"


async def _all_issued(stack: Stack, ids: list[str]) -> bool:
    await asyncio.sleep(0)
    return len(await receipt_rows(stack, receipts.c.source_id.in_(ids))) >= len(ids)
