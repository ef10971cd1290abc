"""The sandbox's driver moves orders on its own, through whole realistic sequences."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from adapters.postal.client import PostalClient
from adapters.postal.codes import ShipmentState, advances
from tests.support.postal_sandbox import WAIT, make_config, running_sandbox

from .test_postal_client_sandbox import parcel

ENDS = {ShipmentState.DELIVERED, ShipmentState.RETURNED, ShipmentState.PICKUP_FAILED}


@pytest.fixture(scope="module")
def driven_sandbox() -> Iterator[str]:
    with running_sandbox(POSTAL_DRIVER="on", POSTAL_TIME_SCALE="0.0005", POSTAL_TOKEN_TTL="60") as url:
        yield url


async def test_the_driver_takes_every_order_to_an_end(driven_sandbox: str) -> None:
    async with PostalClient(make_config(driven_sandbox)) as client:
        orders = [await client.create_order(parcel(f"SHP-D{n}")) for n in range(6)]
        deadline = time.monotonic() + WAIT
        while True:  # bounded wait: the driver steps every 30 ms
            details = [await client.get_order(o.originalId) for o in orders]
            if all(d.state in ENDS and d.code != 5 for d in details):
                break
            assert time.monotonic() < deadline, [d.code for d in details]
            await asyncio.sleep(0.05)
        for detail in details:
            current = None
            for event in detail.history:
                if advances(current, event.state):
                    current = event.state
            assert current is detail.state
            assert detail.history[0].code == 1
