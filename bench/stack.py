"""The real stack as the HTTP benchmarks run it: a fresh PostgreSQL database, Redis, the hub and postal sandboxes
and the gateway under ``gateway serve`` (uvicorn, one process unless told otherwise), with no worker: the
benchmarks drive every request themselves. The bare endpoint is served beside it exactly the same way."""

from __future__ import annotations

import asyncio
import secrets
import signal
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bench import bare
from tests.support.processes import Process
from tests.support.services import free_port
from tests.support.stack import Stack


@dataclass
class BenchStack(Stack):
    workers: int = 1
    bare_process: Process | None = field(default=None, repr=False)
    bare_port: int = field(default_factory=free_port)

    def gateway_env(self) -> dict[str, str]:
        env = super().gateway_env()
        env.update(
            {
                "LOG_LEVEL": "WARNING",
                "PENDING_QUERY_AFTER_SECONDS": "3600",
                "JANITOR_INTERVAL_SECONDS": "3600",
                "AUTH_CACHE_SECONDS": "10",
            }
        )
        return env

    def post_env(self) -> dict[str, str]:  # no push: the benchmarks deliver the signed events themselves
        env = super().post_env()
        env.pop("POSTAL_WEBHOOK_URL")
        return env

    def start_worker(self) -> Process:  # the worker plays no part in the HTTP figures
        return Process("noop", ["gateway", "--help"], {}, self.workdir)

    async def start(self) -> BenchStack:
        await super().start()
        if self.workers != 1:
            self.serve_gateway(self.workers)
        self.serve_bare(self.workers)
        return self

    def serve_gateway(self, workers: int) -> None:
        """(Re)start the gateway with ``workers`` processes on the same port (``gateway serve --workers``)."""
        self.processes["gateway"].stop()
        args = ["gateway", "serve", "--port", str(self.gateway_port), "--workers", str(workers)]
        name = f"gateway-{self.backend}-{workers}w-{secrets.token_hex(2)}"
        self.processes["gateway"] = Process(name, args, self.gateway_env(), self.workdir).start()
        self.processes["gateway"].wait_http(f"{self.gateway_url}/health/live")
        self.workers = workers

    def serve_bare(self, workers: int) -> None:
        """The bare endpoint, served exactly as ``gateway serve`` serves the gateway (see bench/bare.py)."""
        if self.bare_process is not None:
            self.bare_process.stop()
        self.bare_process, _ = bare.serve(self.workdir, workers, self.bare_port)

    @property
    def bare_url(self) -> str:
        return f"http://127.0.0.1:{self.bare_port}/bare"

    @property
    def gateway_pid(self) -> int:
        process = self.processes["gateway"].process
        assert process is not None
        return process.pid

    @property
    def bare_pid(self) -> int:
        assert self.bare_process is not None and self.bare_process.process is not None
        return self.bare_process.process.pid

    @property
    def hub_pid(self) -> int:
        process = self.processes["hub"].process
        assert process is not None
        return process.pid

    async def stop(self) -> None:
        if self.bare_process is not None:
            self.bare_process.stop()
        await super().stop()
        await self.forget_queue()

    async def forget_queue(self) -> None:
        """Drop the receipt jobs the callbacks queued (no worker runs here) from the shared Redis."""
        client = aioredis.from_url(self.redis_url)
        try:
            jobs = await client.zrange(self.queue, 0, -1)
            for start in range(0, len(jobs), 1000):
                await client.delete(*[b"arq:job:" + job for job in jobs[start : start + 1000]])
            await client.delete(self.queue)
        finally:
            await client.aclose()


def stop_on_sigterm() -> None:
    """Cancel the running benchmark on SIGTERM (a timeout, a kill), so its ``finally`` stops the stack's
    processes, which run in sessions of their own and would otherwise outlive it."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


def workdir() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="gwbench-"))
