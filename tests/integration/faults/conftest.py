"""The fault suite's stack: the real processes on a PostgreSQL cluster and a Redis server of their own, which the
tests stop, restart, freeze and kill. The shared PostgreSQL and Redis are never touched.

Database waits are set tight here (connect 1 s, statement 2 s, pool 2 s), so the worst answer under any database
fault comes within about 10 s; every request of the suite carries a client timeout of ``CLIENT_TIMEOUT``, well
under what the default settings would allow, and a request that runs into it counts as a hang.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from gateway import embedded
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from tests.support.fault_bench import Bench, FaultReceiver, FaultStack, wait_ready
from tests.support.private_services import PrivatePostgres, PrivateRedis
from tests.support.stack import AGENCY


async def _create_database(pg: PrivatePostgres) -> str:
    conn = await asyncpg.connect(pg.url)
    try:
        await conn.execute('CREATE DATABASE "gateway"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/gateway"


@pytest.fixture(scope="package")
async def bench() -> AsyncIterator[Bench]:
    workdir = Path(tempfile.mkdtemp(prefix="gw-faults-"))
    pg = PrivatePostgres()
    redis = PrivateRedis(workdir / "redis")
    receiver = FaultReceiver()
    await receiver.start()
    stack: FaultStack | None = None
    try:
        await asyncio.to_thread(pg.start)
        redis.start()
        url = await _create_database(pg)
        stack = FaultStack(backend="postgres", database_url=url, redis_url=redis.url, workdir=workdir)
        await stack.start()
        assert stack.db is not None
        portal_id, stack.api_key = await portals.create_portal(stack.db, "Cổng thử sự cố", [AGENCY.code])
        assert await set_private_webhooks(stack.db, portal_id, True)  # its receiver is on a private address
        async with stack.client() as api:
            answer = await api.put("/v1/webhook", json={"url": receiver.url})
            assert answer.status_code in (200, 201), answer.text
            receiver.secrets.append(answer.json()["secret"])
        yield Bench(stack, pg, redis, receiver, portal_id)
    finally:
        if stack is not None:
            await stack.stop()
        await receiver.stop()
        redis.stop()
        await asyncio.to_thread(pg.remove)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def healthy(bench: Bench) -> AsyncIterator[Bench]:
    """Each test starts and ends with every component up, no fault switched on, and the gateway ready."""
    await _restore(bench)
    yield bench
    await _restore(bench)


async def _restore(bench: Bench) -> None:
    stack = bench.stack
    stack.extra_env.clear()
    bench.pg.thaw()
    if not await asyncio.to_thread(bench.pg.answers):
        await asyncio.to_thread(bench.pg.start)
    if not embedded.answers(bench.redis.url):
        bench.redis.start()
    if not bench.alive("gateway"):
        await asyncio.to_thread(stack.start_gateway)
    if not bench.alive("worker"):
        stack.start_worker()
    async with stack.hub() as hub, stack.post() as post:
        await hub.delete("/control/faults")
        await post.delete("/control/faults")
    await wait_ready(stack, timeout=60)
