"""The shipments area on SQLite: what the post collected on delivery is recorded once, announced once after it
committed (webhook and feed alike), offered to the receipt issuer as its source, and a report we hold is never
announced as money collected; the service's reads refuse what is not the portal's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import literal, true

from adapters.postal import PostalClient, StatusEvent, TrackingPage
from adapters.postal.codes import DELIVERED, state_of
from gateway.kernel.collected import COD, Collected
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.shipments import CodCollections, PostalTracking, ShipmentService
from gateway.store.db import Database
from receipts import PAYMENT_COD
from tests.support.collected_money import FEE, T0, agency_and_portal, delivered_shipment

LATER = T0 + timedelta(days=1)  # every collection of these tests was made by then


def delivered(shipment_id: str, amount: int, event_id: int | None = None) -> StatusEvent:
    return StatusEvent(
        original_id=f"OD-{shipment_id}",
        item_code="EB100000003VN",
        sale_order_code=shipment_id,
        code=DELIVERED,
        text="Phát thành công",
        state=state_of(DELIVERED),
        time=T0,
        cod_amount=amount,
        event_id=event_id,
    )


class Heard:
    def __init__(self) -> None:
        self.sources: list[tuple[str, str]] = []

    async def __call__(self, source_type: str, source_id: str) -> None:
        self.sources.append((source_type, source_id))


class Feed:
    """The post's feed, one page of the given events."""

    def __init__(self, events: Sequence[StatusEvent]) -> None:
        self.events = tuple(events)

    async def tracking(self, after: int, size: int) -> TrackingPage:
        page = self.events if after == 0 else ()
        return TrackingPage(events=page, last_id=len(self.events))


async def test_a_collection_is_announced_once_after_it_is_recorded(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    shipment_id = await delivered_shipment(sqlite_db, portal_id, agency_id, 2 * FEE)
    heard = Heard()
    tracking = PostalTracking(sqlite_db, on_collected=heard)

    tally = await tracking.record([delivered(shipment_id, 2 * FEE)], "webhook", T0)
    again = await tracking.record([delivered(shipment_id, 2 * FEE)], "feed", T0 + timedelta(seconds=1))

    assert tally.cod_collected == 1 and again.duplicates == 1 and again.cod_collected == 0
    ((source_type, collection_id),) = heard.sources
    assert source_type == COD
    async with sqlite_db.read() as conn:
        (loaded,) = await CodCollections().load(conn, [collection_id])
    assert isinstance(loaded, Collected) and loaded.payment_method == PAYMENT_COD
    assert loaded.transaction_id == shipment_id and loaded.payer.name == "Trần Bình"
    # the catalogue's fixed fee does not account for the amount: one line for what the post collected
    assert [(x.code, x.amount) for x in loaded.lines] == [("COD", 2 * FEE)] and loaded.amount == 2 * FEE


async def test_the_catalogue_fees_are_listed_when_they_add_up_to_the_amount(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    shipment_id = await delivered_shipment(sqlite_db, portal_id, agency_id, FEE)
    heard = Heard()
    await PostalTracking(sqlite_db, on_collected=heard).record([delivered(shipment_id, FEE)], "webhook", T0)
    async with sqlite_db.read() as conn:
        (loaded,) = await CodCollections().load(conn, [heard.sources[0][1]])
    assert isinstance(loaded, Collected) and [(x.code, x.amount) for x in loaded.lines] == [("LP-HT-01", FEE)]


async def test_a_report_held_for_reconciliation_is_not_announced_nor_offered(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    shipment_id = await delivered_shipment(sqlite_db, portal_id, agency_id, 2 * FEE)
    heard = Heard()
    tally = await PostalTracking(sqlite_db, on_collected=heard).record([delivered(shipment_id, FEE)], "webhook", T0)
    assert tally.cod_held == 1 and tally.cod_collected == 0 and heard.sources == []
    async with sqlite_db.read() as conn:
        assert await CodCollections().unreceipted(conn, 10, lambda _id: true(), LATER) == []


async def test_the_feed_announces_each_page_s_collections(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    ids = [await delivered_shipment(sqlite_db, portal_id, agency_id, FEE) for _ in range(2)]
    heard = Heard()
    feed = Feed([delivered(shipment_id, FEE, n + 1) for n, shipment_id in enumerate(ids)])
    tracking = PostalTracking(sqlite_db, on_collected=heard)
    report = await tracking.poll(cast(PostalClient, feed), page_size=10, max_pages=3)
    assert report.tally.cod_collected == 2 and report.cursor == 2
    async with sqlite_db.read() as conn:
        pending = await CodCollections().unreceipted(conn, 10, lambda _id: true(), LATER)
        none = await CodCollections().unreceipted(conn, 10, lambda _id: literal(False), LATER)
    assert sorted(pending) == sorted(source_id for _, source_id in heard.sources) and len(pending) == 2
    assert none == []


async def test_the_service_reads_only_the_portal_s_shipments(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    shipment_id = await delivered_shipment(sqlite_db, portal_id, agency_id, 0)
    service = ShipmentService(sqlite_db, cast(PostalClient, None))  # reads never call the post
    mine = PortalContext(portal_id, "key_1", frozenset({agency_id}))
    other = PortalContext("ptl_other", "key_2", frozenset())

    assert (await service.get(mine, shipment_id)).id == shipment_id
    with pytest.raises(Refused) as unknown:
        await service.get(other, shipment_id)
    assert unknown.value.code == "not_found"
    records, cursor = await service.page(mine, dossier_code=None, status="created", cursor=None, limit=5)
    assert [r.id for r in records] == [shipment_id] and cursor is None
    with pytest.raises(Refused) as bad:
        await service.page(mine, dossier_code=None, status="lost", cursor=None, limit=5)
    assert bad.value.code == "invalid_request" and bad.value.field == "status"
