"""The fault suite's stack and bench: the test stack with tight database settings, a webhook receiver with one more
answer, and what a fault test may break. The fixtures that build them are in tests/integration/faults/conftest.py."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

import httpx

from tests.support.private_services import PrivatePostgres, PrivateRedis
from tests.support.services import wait_for
from tests.support.stack import Stack
from tests.support.webhook_receiver import Receiver

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
