from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gateway import embedded
from tests.support.stack import Stack


@pytest.fixture(autouse=True)
async def clean_hub(stack: Stack) -> AsyncIterator[None]:
    async with stack.hub() as hub:
        await hub.delete("/control/faults")
    yield
    async with stack.hub() as hub:
        await hub.delete("/control/faults")


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
