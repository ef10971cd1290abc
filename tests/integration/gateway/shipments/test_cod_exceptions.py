"""Money the post reports is not taken on trust: a collection on a shipment that cannot collect, or of another
amount than booked, is held for reconciliation (reported amount and reason, on the shipment, the dossier, the
outbox, the gauge and the operators' list), never recorded as received, never receipted, in no collected total;
whether it came by the signed webhook or by the polled feed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from adapters.vntime import now_utc
from gateway.shipments import repository
from gateway.store.tables import shipments as st
from gateway.store.tables.receipts import receipts
from tests.support.api import key
from tests.support.services import wait_for
from tests.support.shipments import advance, book, faults, outbox_types, wait_shipment, wait_status
from tests.support.stack import Stack


async def misreport(post: httpx.AsyncClient, original_id: str, status: int, amount: int) -> dict[str, Any]:
    """The post sends an event it should not: ``status`` reporting ``amount`` collected."""
    response = await post.post(f"/control/orders/{original_id}/misreport", json={"status": status, "codAmount": amount})
    assert response.status_code == 200, response.text
    return dict(response.json()["events"][0])


async def held(api: httpx.AsyncClient, shipment_id: str) -> dict[str, Any]:
    """The shipment once the delivered event is on its timeline with the report it made held (a read of the API
    may see one before the other: each part of the view is its own query)."""

    def done(s: dict[str, Any]) -> bool:
        return bool(s["cod_exceptions"]) and any(e["code"] == 14 for e in s["timeline"])

    return await wait_shipment(api, shipment_id, done, "a COD report held")  # type: ignore[no-any-return]


async def assert_not_received(stack: Stack, shipment: dict[str, Any]) -> None:
    """No collection, so no receipt for the dossier, and one exception announced instead of a collection."""
    assert stack.db is not None
    async with stack.db.read() as conn:
        c, r = st.cod_collections.c, receipts.c
        collections = (await conn.execute(select(c.id).where(c.shipment_id == shipment["id"]))).all()
        issued = (await conn.execute(select(r.id).where(r.dossier_code == shipment["dossier_code"]))).all()
    assert collections == [] and issued == []
    types = await outbox_types(stack, shipment["id"])
    assert "shipment.cod_collected" not in types and types.count("shipment.cod_exception") == 1


async def test_a_collection_reported_on_a_cancelled_shipment_is_held(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api, cod_amount=150_000)
    cancelled = await api.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    pushed = await misreport(post, shipment["original_id"], 14, 9_999_999)  # signed and pushed like any event
    after = await held(api, shipment["id"])
    (exception,) = after["cod_exceptions"]
    assert exception["reason"] == "shipment_cancelled" and exception["status"] == "open"
    assert (exception["reported_amount"], exception["booked_amount"]) == (9_999_999, 150_000)
    # the post puts the event in its feed and pushes it: whichever of the push and the worker's poll comes first
    assert exception["shipment_status"] == "cancelled" and exception["source"] in ("webhook", "feed")
    assert after["status"] == "cancelled" and after["cod_collection"] is None
    assert after["timeline"][-1]["code"] == 14, after["timeline"]
    assert after["timeline"][-1]["cod_amount"] == pushed["codAmount"]

    dossier = (await api.get(f"/v1/dossiers/{shipment['dossier_code']}")).json()
    assert dossier["totals"]["cod_collected"] == 0 and dossier["totals"]["cod_held"] == 9_999_999
    assert dossier["shipments"][0]["cod_exceptions"] == after["cod_exceptions"]

    # the same event again, from the feed and pushed twice more, is still one exception
    await wait_for(lambda: _feed_past(stack, pushed["id"]), timeout=15, what="the feed past the misreport")
    await assert_not_received(stack, shipment)

    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        text = (await client.get("/metrics")).text
    gauge = re.search(r"^gateway_cod_exceptions_open (\S+)$", text, re.MULTILINE)
    assert gauge is not None and float(gauge[1]) >= 1
    listed = subprocess.run(
        [sys.executable, "-m", "gateway", "shipments", "cod-exceptions"],
        env={**os.environ, **stack.gateway_env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    mine = [x for x in map(json.loads, listed.stdout.splitlines()) if x["shipment_id"] == shipment["id"]]
    assert [(x["reason"], x["reported_amount"], x["item_code"]) for x in mine] == [
        ("shipment_cancelled", 9_999_999, shipment["item_code"])
    ]


async def test_another_amount_than_booked_is_held_when_it_comes_by_the_feed(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api, cod_amount=150_000)
    await advance(post, shipment["original_id"], to=12)
    await wait_status(api, shipment["id"], "out_for_delivery")
    await faults(post, webhook={"drop": 1})  # the push is lost: only the feed carries it
    await misreport(post, shipment["original_id"], 14, 120_000)
    after = await held(api, shipment["id"])
    (exception,) = after["cod_exceptions"]
    assert exception["reason"] == "amount_mismatch" and exception["source"] == "feed"
    assert (exception["reported_amount"], exception["booked_amount"]) == (120_000, 150_000)
    assert exception["shipment_status"] == "out_for_delivery"
    assert after["status"] == "delivered" and after["cod_collection"] is None  # the parcel moved; the money did not
    await assert_not_received(stack, shipment)
    dossier = (await api.get(f"/v1/dossiers/{shipment['dossier_code']}")).json()
    assert dossier["totals"]["cod_collected"] == 0 and dossier["totals"]["cod_due"] == 150_000


async def test_a_collection_on_a_shipment_booked_without_cod_is_held(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api)
    await advance(post, shipment["original_id"], to=12)
    await misreport(post, shipment["original_id"], 14, 50_000)
    after = await held(api, shipment["id"])
    assert [(x["reason"], x["reported_amount"], x["booked_amount"]) for x in after["cod_exceptions"]] == [
        ("no_cod_booked", 50_000, 0)
    ]
    await assert_not_received(stack, shipment)


async def test_a_collection_of_the_booked_amount_is_received(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api, cod_amount=8_000)
    await advance(post, shipment["original_id"], scenario="deliver")
    done = await wait_status(api, shipment["id"], "delivered", events=9)
    assert done["cod_collection"]["amount"] == 8_000 and done["cod_exceptions"] == []


async def _feed_past(stack: Stack, event_id: int) -> bool:
    from tests.support.shipments import cursor

    return await cursor(stack) >= event_id


async def test_a_postal_event_reads_its_shipment_as_the_full_read_does(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    """The one statement a postal event locks its shipment with gives the record the full read gives (without the
    timeline): the COD collection of a delivered shipment, the held reports of a cancelled one, neither on a third."""
    delivered = await book(api, cod_amount=150_000)
    await advance(post, delivered["original_id"], scenario="deliver")
    await wait_shipment(api, delivered["id"], lambda s: s["cod_collection"] is not None, "the COD collected")
    cancelled = await book(api, cod_amount=150_000)
    assert (await api.post(f"/v1/shipments/{cancelled['id']}/cancel", headers=key())).status_code == 200
    await misreport(post, cancelled["original_id"], 14, 9_999_999)
    await held(api, cancelled["id"])
    plain = await book(api)
    ids = [delivered["id"], cancelled["id"], plain["id"]]
    assert stack.db is not None
    async with stack.db.unit() as uow:
        locked = await repository.lock(uow.conn, ids)
    async with stack.db.read() as conn:
        full = {i: await repository.load(conn, i, timeline=False) for i in ids}
    assert locked == {i: replace(full[i], events=()) for i in ids}  # type: ignore[type-var]
    assert locked[delivered["id"]].collection is not None and not locked[delivered["id"]].cod_exceptions
    assert locked[cancelled["id"]].collection is None and len(locked[cancelled["id"]].cod_exceptions) == 1
    assert locked[plain["id"]].collection is None and not locked[plain["id"]].cod_exceptions


async def test_a_postal_event_that_waited_for_its_shipments_lock_sees_what_the_holder_committed(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """Two events of one shipment at once: the second waits for the first's row lock, and then reads the COD
    collection the first recorded, so its snapshot does not drop it (PostgreSQL reads each statement as of its
    start: the collection is read after the lock is granted, not with it)."""
    if stack.backend != "postgres":
        pytest.skip("SQLite writers take turns: the second transaction begins after the first committed")
    assert stack.db is not None
    db = stack.db
    booked = await book(api, cod_amount=150_000)

    async def second() -> Any:
        async with db.unit() as uow:
            return (await repository.lock(uow.conn, [booked["id"]]))[booked["id"]]

    async def waiting_for_a_lock() -> bool:
        async with db.read() as conn:
            found = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return bool(found.scalar_one())

    async with db.unit() as first:
        shipment = (await repository.lock(first.conn, [booked["id"]]))[booked["id"]]
        assert shipment.collection is None
        now = now_utc()
        assert await repository.insert_collection(first.conn, shipment, 150_000, now, now) is not None
        later = asyncio.create_task(second())
        await wait_for(waiting_for_a_lock, timeout=10, what="the second event waiting for the shipment's lock")
    seen = await later
    assert seen.collection is not None and seen.collection.amount == 150_000
