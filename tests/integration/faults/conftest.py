"""The fault suite's stack: the real processes on a PostgreSQL cluster and a Redis server of their own, which the
tests stop, restart, freeze and kill. The shared PostgreSQL and Redis are never touched.

Database waits are set tight here (connect 1 s, statement 2 s, pool 2 s), so the worst answer under any database
fault comes within about 10 s; every request of the suite carries a client timeout of ``CLIENT_TIMEOUT``, well
under what the default settings would allow, and a request that runs into it counts as a hang.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway import embedded
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from tests.integration.deliveries.receiver import Receiver
from tests.support.private_services import PrivatePostgres, PrivateRedis
from tests.support.services import wait_for
from tests.support.stack import AGENCY, Stack

CLIENT_TIMEOUT = 15.0
READY_WITHIN = 4.0  # readiness answers within this, whatever the fault
FAULT_SETTINGS = {
    "DATABASE_CONNECT_TIMEOUT": "1",
    "DATABASE_STATEMENT_TIMEOUT": "2",
    "DATABASE_POOL_TIMEOUT": "2",
    "DATABASE_RETRY_AFTER_SECONDS": "2",
    "REDIS_TIMEOUT_SECONDS": "1",
    "SHUTDOWN_GRACE_SECONDS": "8",
    "HEALTH_CHECK_TIMEOUT": "1.5",
    "IDEMPOTENCY_LOCK_SECONDS": "20",
}
DELAY_SECONDS = 1.0  # the receiver's "delay" answer (the stack's webhook timeout is 2 s)


class FaultReceiver(Receiver):
    """The webhook receiver, with one more way to answer: ``delay`` answers 200 after DELAY_SECONDS."""

    async def _reply(self, mode: str, writer: asyncio.StreamWriter) -> bool:
        if mode == "delay":
            await asyncio.sleep(DELAY_SECONDS)
            mode = "ok"
        return await super()._reply(mode, writer)


@dataclass
class FaultStack(Stack):
    """The test stack with the fault suite's tight database settings (and any a test adds)."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def gateway_env(self) -> dict[str, str]:
        return {**super().gateway_env(), **FAULT_SETTINGS, **self.extra_env}

    def client(self, api_key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.gateway_url,
            timeout=CLIENT_TIMEOUT,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
        )

    def start_gateway(self) -> None:
        from tests.support.processes import Process

        self.processes["gateway"] = Process(
            f"gateway-{self.backend}",
            ["gateway", "serve", "--port", str(self.gateway_port)],
            self.gateway_env(),
            self.workdir,
        ).start()
        self.processes["gateway"].wait_http(f"{self.gateway_url}/health/live")


@dataclass
class Bench:
    """Everything a fault test may break, and the webhook receiver of the stack's portal."""

    stack: FaultStack
    pg: PrivatePostgres
    redis: PrivateRedis
    receiver: FaultReceiver
    portal_id: str

    def alive(self, name: str) -> bool:
        process = self.stack.processes[name].process
        return process is not None and process.poll() is None


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


async def wait_ready(stack: Stack, timeout: float = 30) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as probe:

        async def ready() -> bool:
            try:
                return (await probe.get("/health/ready")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(ready, timeout=timeout, interval=0.2, what="the gateway to be ready")


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(12)}
