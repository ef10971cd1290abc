"""The post's events reach the gateway by its signed webhook and by the polled feed, repeated and reordered: each
is recorded once, the shipment never moves backwards, bad signatures and malformed pages record nothing and
leave the cursor where it was; the post's token expiring and its outage while booking change nothing either."""

from __future__ import annotations

import time
from typing import Any

import httpx
import msgspec
from sqlalchemy import select

from adapters.postal import PostalClient, PostalConfig
from adapters.postal import webhook as signatures
from adapters.postal.codes import RANK, ShipmentState
from adapters.vntime import format_local, now_utc
from gateway.store.tables import outbox as ot
from gateway.store.tables import shipments as st
from tests.support.api import key
from tests.support.services import wait_for
from tests.support.shipments import advance, book, counts, cursor, faults, shipment_body, wait_shipment, wait_status
from tests.support.stack import (
    POSTAL_CUSTOMER,
    POSTAL_OLD_SECRET,
    POSTAL_PASSWORD,
    POSTAL_SECRET,
    POSTAL_USER,
    Stack,
)

RETURN_CODES = [1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 15, 16, 17, 18, 20]


def postal_client(stack: Stack) -> PostalClient:
    config = PostalConfig(
        base_url=stack.post_url, username=POSTAL_USER, password=POSTAL_PASSWORD, customer_code=POSTAL_CUSTOMER
    )
    return PostalClient(config)


async def feed_events(stack: Stack) -> list[Any]:
    """Every event in the post's feed, read with a client of the test's own."""
    events: list[Any] = []
    last = 0
    async with postal_client(stack) as client:
        while True:
            page = await client.tracking(last, 500)
            events.extend(page.events)
            if not page.events:
                return events
            last = page.last_id


async def caught_up(stack: Stack) -> int:
    """Wait until the gateway's feed cursor reaches the post's last event; return it."""
    latest = max((e.event_id for e in await feed_events(stack)), default=0)
    await wait_for(lambda: _at_least(stack, latest), timeout=15, what=f"feed cursor at {latest}")
    return latest


async def _at_least(stack: Stack, event_id: int) -> bool:
    return await cursor(stack) >= event_id


async def stored_events(stack: Stack, shipment_id: str) -> list[Any]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(st.shipment_events).where(st.shipment_events.c.shipment_id == shipment_id)
        return list((await conn.execute(query)).all())


async def status_changes(stack: Stack, shipment_id: str) -> list[str]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        rows = await conn.execute(
            select(ot.outbox.c.payload)
            .where(ot.outbox.c.resource_id == shipment_id, ot.outbox.c.type == "shipment.status_changed")
            .order_by(ot.outbox.c.sequence)
        )
        return [payload["status"] for payload in rows.scalars()]


async def test_events_by_webhook_and_feed_repeated_and_reordered_make_one_timeline(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api)
    await faults(post, webhook={"repeat": 2, "reorder": True}, feed={"repeat": True, "reorder": True})
    pushed = await advance(post, shipment["original_id"], scenario="return")
    done = await wait_status(api, shipment["id"], "returned", events=15)

    # wait until every copy of every push was answered and the feed has read past the last event
    ids = {e["id"] for e in pushed}

    async def all_pushed() -> bool:
        attempts = (await post.get("/control/webhook/attempts")).json()["attempts"]
        delivered = [a for a in attempts if a["eventId"] in ids and a["httpStatus"] == 200]
        return len(delivered) == 3 * len(ids)

    await wait_for(all_pushed, timeout=15, what="every push answered")
    await wait_for(lambda: _at_least(stack, max(ids)), timeout=15, what="the feed past the last event")

    timeline = (await api.get(f"/v1/shipments/{shipment['id']}")).json()["timeline"]
    assert timeline == done["timeline"]
    assert [e["code"] for e in timeline] == RETURN_CODES
    assert [e["occurred_at"] for e in timeline] == sorted(e["occurred_at"] for e in timeline)
    assert {e["source"] for e in timeline} <= {"webhook", "feed"}
    assert len(await stored_events(stack, shipment["id"])) == 15
    changes = await status_changes(stack, shipment["id"])
    ranks = [RANK[ShipmentState(s)] for s in changes]
    assert ranks == sorted(set(ranks)), f"the shipment moved backwards or stood still: {changes}"
    assert changes[-1] == "returned"


async def test_bad_or_stale_signatures_record_nothing(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api)
    item = {
        "id": 900_000_000,
        "originalId": shipment["original_id"],
        "itemCode": shipment["item_code"],
        "saleOrderCode": shipment["id"],
        "status": 14,
        "statusName": "Phát thành công",
        "time": format_local(now_utc()),
        "location": "Bưu cục phát",
        "note": "",
        "codAmount": 0,
    }
    body = msgspec.json.encode(item)
    now = int(time.time())
    refused = [
        ({}, "malformed"),
        ({signatures.HEADER: "v1=deadbeef"}, "malformed"),
        ({signatures.HEADER: signatures.sign("not-our-secret", now, body)}, "bad_signature"),
        ({signatures.HEADER: signatures.sign(POSTAL_SECRET, now, body + b" ")}, "bad_signature"),
        ({signatures.HEADER: signatures.sign(POSTAL_SECRET, now - 600, body)}, "stale"),
        ({signatures.HEADER: signatures.sign(POSTAL_SECRET, now + 600, body)}, "stale"),
    ]
    before = await counts(stack)
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        for headers, reason in refused:
            response = await client.post(
                "/callbacks/postal", content=body, headers={"Content-Type": "application/json", **headers}
            )
            assert response.status_code == 401, (reason, response.text)
            assert response.json()["code"] == "postal_signature_invalid" and response.json()["reason"] == reason
        for bad in (
            b"{not json",
            msgspec.json.encode({**item, "status": 99}),
            msgspec.json.encode({**item, "itemCode": "EB123456789VN"}),
            b"[]",
        ):
            header = signatures.sign(POSTAL_SECRET, int(time.time()), bad)
            response = await client.post("/callbacks/postal", content=bad, headers={signatures.HEADER: header})
            assert response.status_code == 400 and response.json()["code"] == "postal_event_malformed"
        assert await counts(stack) == before
        assert (await api.get(f"/v1/shipments/{shipment['id']}")).json()["status"] == "created"

        # the same event signed with the secret being rotated out is taken, once
        signed = {signatures.HEADER: signatures.sign(POSTAL_OLD_SECRET, int(time.time()), body)}
        first = await client.post("/callbacks/postal", content=body, headers=signed)
        again = await client.post("/callbacks/postal", content=body, headers=signed)
    assert (first.status_code, first.json()) == (200, {"outcome": "recorded"})
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    delivered = (await api.get(f"/v1/shipments/{shipment['id']}")).json()
    assert delivered["status"] == "delivered" and len(delivered["timeline"]) == 2


async def test_malformed_feed_pages_leave_the_cursor_and_record_nothing(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api)
    start = await caught_up(stack)
    corrupt = 1_000_000
    await faults(post, feed={"corrupt": corrupt}, webhook={"drop": 3})
    await advance(post, shipment["original_id"], to=6)  # 2, 4, 6: only in the feed
    left = (await post.get("/control/faults")).json()["feed_corrupt"]

    async def two_more_polls() -> bool:
        return (await post.get("/control/faults")).json()["feed_corrupt"] <= left - 2

    await wait_for(two_more_polls, timeout=15, what="two malformed pages served")
    assert await cursor(stack) == start
    assert len((await api.get(f"/v1/shipments/{shipment['id']}")).json()["timeline"]) == 1

    await post.delete("/control/faults")
    done = await wait_status(api, shipment["id"], "picked_up", events=4)
    assert [e["source"] for e in done["timeline"][1:]] == ["feed"] * 3
    assert await cursor(stack) > start


async def test_the_post_token_expiring_mid_run(api: httpx.AsyncClient, post: httpx.AsyncClient) -> None:
    await faults(post, expire_tokens=True)
    shipment = await book(api)  # the gateway's cached token is refused: it logs in again once
    await faults(post, expire_tokens=True, webhook={"drop": 8})
    await advance(post, shipment["original_id"], scenario="deliver")
    done = await wait_status(api, shipment["id"], "delivered", events=9)  # the worker logged in again too
    assert {e["source"] for e in done["timeline"][1:]} == {"feed"}


async def test_a_post_outage_while_booking_books_once_on_retry(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    headers = key()
    body = shipment_body()
    await faults(post, http_status=503, calls=1_000_000)
    response = await api.post("/v1/shipments", json=body, headers=headers)
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["code"] == "postal_unavailable" and response.headers["Retry-After"]
    waiting = (await api.get(f"/v1/shipments/{problem['shipment_id']}")).json()
    assert waiting["status"] == "booking" and waiting["original_id"] is None

    await post.delete("/control/faults")
    retry = await api.post("/v1/shipments", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["id"] == problem["shipment_id"]
    assert retry.json()["status"] == "created"
    replay = await api.post("/v1/shipments", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == retry.json()
    await _booked_once(stack, problem["shipment_id"])


async def test_a_lost_booking_answer_books_once_on_retry(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    """The post books the parcel but its answer comes after the gateway stopped waiting."""
    headers = key()
    body = shipment_body(cod_amount=30_000)
    await faults(post, stall_seconds=3, stall_calls=1_000_000)
    response = await api.post("/v1/shipments", json=body, headers=headers)
    assert response.status_code == 503 and response.json()["code"] == "postal_unavailable"
    shipment_id = response.json()["shipment_id"]
    await post.delete("/control/faults")
    retry = await api.post("/v1/shipments", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    booked = retry.json()
    assert booked["id"] == shipment_id and booked["original_id"] and booked["postage"] == 16_500
    await wait_shipment(api, shipment_id, lambda s: len(s["timeline"]) == 1, "the created event")
    await _booked_once(stack, shipment_id, booked["original_id"])


async def _booked_once(stack: Stack, shipment_id: str, original_id: str | None = None) -> None:
    created = [e for e in await feed_events(stack) if e.sale_order_code == shipment_id and e.code == 1]
    assert len(created) == 1, "the post made more than one order"
    if original_id is not None:
        assert created[0].original_id == original_id


async def test_a_booking_the_portal_never_retried_is_completed_by_the_worker(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    await faults(post, http_status=502, calls=1_000_000)
    response = await api.post("/v1/shipments", json=shipment_body(), headers=key())
    assert response.status_code == 503
    shipment_id = response.json()["shipment_id"]
    await post.delete("/control/faults")
    # The post's "created" event may reach us before the worker records the booking's answer (with the postage).
    booked = await wait_shipment(
        api,
        shipment_id,
        lambda s: s["status"] == "created" and len(s["timeline"]) == 1 and s["postage"] is not None,
        "booked by the worker",
    )
    assert booked["original_id"] and booked["postage"] == 16_500
    await _booked_once(stack, shipment_id, booked["original_id"])
