from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.stack import Stack


@pytest.fixture
async def hub(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.hub() as client:
        await client.delete("/control/faults")
        yield client


@pytest.fixture
async def public(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A citizen's client: no API key."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client
