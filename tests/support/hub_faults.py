"""Hub faults switched off around each test, for the folders whose tests switch them on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack


@pytest.fixture(autouse=True)
async def clean_hub(stack: Stack) -> AsyncIterator[None]:
    async with stack.hub() as hub:
        await hub.delete("/control/faults")
    yield
    async with stack.hub() as hub:
        await hub.delete("/control/faults")
