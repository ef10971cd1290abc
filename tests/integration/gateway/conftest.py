"""Fixtures of every area's integration tests: the portal's API client, the hub sandbox, a Redis of a test's own, a
job queue of a test's own on the shared Redis.
Tests that switch hub faults on take ``clean_hub`` in their own folder's conftest."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis
from arq.constants import job_key_prefix

from gateway import embedded
from tests.support.services import require_redis
from tests.support.stack import Stack


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    """arq's client on the shared Redis, its default queue a new one; the queue's jobs and keys go afterwards."""
    client = ArqRedis.from_url(require_redis())
    queue = client.default_queue_name = f"test-queue-{secrets.token_hex(4)}"
    try:
        yield client
    finally:
        jobs = [job_key_prefix.encode() + job for job in await client.zrange(queue, 0, -1)]
        named = [key async for key in client.scan_iter(match=f"*{queue}*")]
        if jobs or named:
            await client.delete(*jobs, *named)
        await client.aclose()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.client() as client:
        yield client


@pytest.fixture
async def hub(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.hub() as client:
        yield client


@pytest.fixture
def private_redis(stack: Stack) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of the test's own (its URL and process), which the test may stop; gone at the end."""
    port = embedded.free_port()
    server = embedded.start_redis(Path(stack.workdir) / f"redis-{port}", port)
    try:
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
