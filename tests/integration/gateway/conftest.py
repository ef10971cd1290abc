from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

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
