"""The feed serves every event exactly once in a stable order, even when PostgreSQL commits them out of order;
the dossier view puts payments, receipts, shipments and totals together."""

from __future__ import annotations

import pytest

from adapters.vntime import now_utc
from gateway.store import outbox
from tests.support.api import pay, wait_status
from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body

from .conftest import Portal, key, write_events


async def record(tx, portal: Portal, dossier: str, **kw) -> str:  # type: ignore[no-untyped-def]
    values = {"type": "payment.pending", "resource_type": "payment", "resource_id": "pay_x", "payload": {}} | kw
    row = outbox.event_row(portal_id=portal.portal_id, dossier_code=dossier, now=now_utc(), **values)
    await outbox.record_rows(tx, [row])  # now, not at a unit's commit: the test holds the transaction open
    return str(row["id"])


async def served(portal: Portal, ids: list[str]) -> None:
    """Wait until the feed serves ``ids``: on PostgreSQL it holds back what was written while any older transaction
    of the server was still running, however briefly (see gateway/events/repository.py)."""

    async def all_there() -> bool:
        page = (await portal.api.get("/v1/events", params={"limit": 500})).json()
        return set(ids) <= {e["id"] for e in page["data"]}

    await wait_for(all_there, timeout=10, what="the feed to serve the events written")


async def test_an_event_that_commits_late_is_not_skipped(stack: Stack, portal: Portal) -> None:
    if stack.backend != "postgres":
        pytest.skip("SQLite writers take turns: positions commit in order there")
    assert stack.db is not None
    first = (await portal.api.get("/v1/events")).json()
    async with stack.db.engine.connect() as slow:
        tx = await slow.begin()
        late = await record(slow, portal, "HS-LATE")  # takes the lower position, commits last
        async with stack.db.transaction() as fast_tx:
            early = await record(fast_tx, portal, "HS-EARLY")
        page = (await portal.api.get("/v1/events", params={"after": first["next_cursor"] or "0-0"})).json()
        assert [e["id"] for e in page["data"]] == []  # held back while an older transaction runs
        await tx.commit()
    cursor = first["next_cursor"] or "0-0"
    seen: list[str] = []

    async def both_served() -> bool:
        # the feed serves an event once every transaction older than it has ended, on the whole server: another
        # stack's transaction still running may hold both back a moment longer
        nonlocal cursor
        page = (await portal.api.get("/v1/events", params={"after": cursor})).json()
        seen.extend(e["id"] for e in page["data"])
        cursor = page["next_cursor"] or cursor
        return len(seen) >= 2

    await wait_for(both_served, timeout=15, what="both events served")
    assert seen == [late, early]


async def test_the_feed_pages_by_cursor_and_filters(stack: Stack, portal: Portal) -> None:
    assert stack.db is not None
    ids = await write_events(stack.db, portal.portal_id, 7, dossiers=2)
    await served(portal, ids)
    one = (await portal.api.get("/v1/events", params={"limit": 3})).json()
    two = (await portal.api.get("/v1/events", params={"limit": 3, "after": one["next_cursor"]})).json()
    three = (await portal.api.get("/v1/events", params={"limit": 3, "after": two["next_cursor"]})).json()
    assert [e["id"] for e in one["data"] + two["data"] + three["data"]] == ids
    empty = (await portal.api.get("/v1/events", params={"after": three["next_cursor"]})).json()
    assert empty == {"data": [], "next_cursor": three["next_cursor"]}
    dossier = one["data"][1]["dossier_code"]
    only = (await portal.api.get("/v1/events", params={"dossier_code": dossier})).json()["data"]
    assert [e["sequence"] for e in only] == [1, 2, 3] and {e["dossier_code"] for e in only} == {dossier}
    assert (await portal.api.get("/v1/events", params={"type": "payment.paid"})).json()["data"] == []
    for bad in ({"after": "x"}, {"after": "1-"}, {"limit": "0"}, {"since": "1"}):
        response = await portal.api.get("/v1/events", params=bad)
        assert response.status_code == 400 and response.json()["code"] == "invalid_request", bad


async def test_another_portals_feed_and_dossier_are_invisible(stack: Stack, portal: Portal) -> None:
    assert stack.db is not None
    await served(portal, await write_events(stack.db, portal.portal_id, 2, dossiers=1))
    mine = (await portal.api.get("/v1/events")).json()["data"]
    async with stack.client(stack.other_api_key) as other:
        theirs = (await other.get("/v1/events", params={"dossier_code": mine[0]["dossier_code"]})).json()["data"]
        assert theirs == []
        assert (await other.get(f"/v1/dossiers/{mine[0]['dossier_code']}")).status_code == 404


async def test_the_dossier_view_shows_payments_receipts_shipments_and_totals(stack: Stack, portal: Portal) -> None:
    assert stack.db is not None
    body = payment_body()
    dossier = body["dossier_code"]
    paid = (await portal.api.post("/v1/payments", json=body, headers=key())).json()
    open_one = (await portal.api.post("/v1/payments", json=payment_body(dossier), headers=key())).json()
    async with stack.hub() as hub:
        await pay(hub, paid["reference"])
    await wait_status(portal.api, paid["id"], "paid")
    refund = await portal.api.post(
        f"/v1/payments/{paid['id']}/refunds", json={"amount": 50_000, "reason": "Thu thừa"}, headers=key()
    )
    assert refund.status_code == 201, refund.text
    async with stack.db.transaction() as tx:  # a shipment's events as its area writes them: snapshots
        shipment = {"id": "shp_1", "status": "in_transit", "cod_amount": 30_000, "cod_collection": None}
        await record(
            tx,
            portal,
            dossier,
            type="shipment.created",
            resource_type="shipment",
            resource_id="shp_1",
            payload={**shipment, "status": "created"},
        )
        await record(
            tx,
            portal,
            dossier,
            type="shipment.in_transit",
            resource_type="shipment",
            resource_id="shp_1",
            payload=shipment,
        )

    async def settled() -> dict | None:
        view = (await portal.api.get(f"/v1/dossiers/{dossier}")).json()
        refunded = view["totals"]["refunded"] == 50_000
        return view if refunded else None

    view = await wait_for(settled, timeout=20, what="the refund in the dossier")
    assert [p["id"] for p in view["payments"]] == [paid["id"], open_one["id"]]
    assert view["shipments"] == [shipment]
    assert view["totals"] == {
        "due": 150_000,
        "paid": 150_000,
        "refunded": 50_000,
        "net_paid": 100_000,
        "cod_due": 30_000,
        "cod_collected": 0,
        "cod_held": 0,
    }
    assert all(r["source_id"] == paid["id"] for r in view["receipts"])
    assert view["last_event"]["sequence"] >= 5
    missing = await portal.api.get("/v1/dossiers/HS-NONE")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
