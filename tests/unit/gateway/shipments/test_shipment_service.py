"""The shipment use cases without a server process: ShipmentService on a migrated SQLite store, talking to the
postal sandbox served in this process (under uvicorn, in a thread) over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func, select

from adapters.postal import PostalClient, PostalConfig
from adapters.postal.sandbox import create_app as post_app
from adapters.postal.sandbox.config import SandboxConfig
from adapters.vntime import now_utc
from gateway import portals
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.shipments import ShipmentService
from gateway.shipments.schemas import CreateShipment
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.tables import shipments as sh
from tests.support.collected_money import migrated_sqlite
from tests.support.payhub_sandbox import served
from tests.support.shipments import shipment_body
from tests.support.stack import AGENCY

LOGIN = SandboxConfig()


@dataclass
class World:
    db: Database
    portal: PortalContext
    shipments: ShipmentService


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    with served(post_app(LOGIN)) as url:
        post = PostalClient(PostalConfig(url, LOGIN.username, LOGIN.password, LOGIN.customer_code))
        try:
            async with migrated_sqlite(tmp_path) as db:
                await portals.upsert_agency(db, AGENCY)
                _, api_key = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
                portal = await portals.authenticate(db, api_key)
                assert portal is not None
                yield World(db, portal, ShipmentService(db, post))
        finally:
            await post.aclose()


async def attempt(world: World) -> Attempt:
    asked = idempotency.Request(world.portal.portal_id, secrets.token_hex(8), "POST", "/v1/shipments", "x")
    claimed = await idempotency.claim(world.db, asked, now_utc())
    assert isinstance(claimed, Attempt)
    return claimed


async def stored(world: World) -> int:
    async with world.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(sh.shipments))).scalar_one())


async def test_a_booked_shipment_has_the_posts_item_code_and_a_retry_resumes_it(world: World) -> None:
    tried = await attempt(world)
    data = msgspec.convert(shipment_body(), CreateShipment)
    booked = await world.shipments.create(world.portal, tried, data)
    assert booked.item_code and booked.status != "booking"
    again = await world.shipments.create(world.portal, Attempt(tried.owner, tried.key, booked.id), data)
    assert again.id == booked.id and await stored(world) == 1


async def test_a_shipment_not_picked_up_is_cancelled_at_the_post(world: World) -> None:
    booked = await world.shipments.create(
        world.portal, await attempt(world), msgspec.convert(shipment_body(), CreateShipment)
    )
    cancelled = await world.shipments.cancel(world.portal, booked.id)
    assert cancelled.status == "cancelled"


async def test_an_address_outside_the_2025_units_is_refused_and_stores_nothing(world: World) -> None:
    body = shipment_body()
    body["citizen"]["address"] = {"province_code": "79", "commune_code": "99999", "street": "1 Lê Lợi"}
    with pytest.raises(Refused) as refused:
        await world.shipments.create(world.portal, await attempt(world), msgspec.convert(body, CreateShipment))
    assert refused.value.code == "invalid_address" and refused.value.field
    assert await stored(world) == 0
