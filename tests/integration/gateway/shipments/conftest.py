from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.stack import Stack


@pytest.fixture(autouse=True)
async def clean_post(stack: Stack) -> AsyncIterator[None]:
    """Every test starts with no faults at the post; its orders and event ids carry on (the feed cursor too)."""
    async with stack.post() as post:
        await post.delete("/control/faults")
    yield
    async with stack.post() as post:
        await post.delete("/control/faults")


@pytest.fixture
async def post(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.post() as client:
        yield client
