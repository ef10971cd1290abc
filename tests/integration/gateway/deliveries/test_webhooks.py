"""Events reach the portal's webhook, signed, and are the same events the feed serves."""

from __future__ import annotations

import time

from sqlalchemy import select

from gateway.store.tables import outbox as ot
from tests.support.api import pay, wait_status
from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body
from tests.support.webhook_receiver import Receiver, independent_verify

from .conftest import Portal, key, point, write_events


async def feed_all(portal: Portal, **params: str) -> list[dict]:
    events: list[dict] = []
    after = None
    while True:
        query = {**params, "limit": "200", **({"after": after} if after else {})}
        page = (await portal.api.get("/v1/events", params=query)).json()
        events.extend(page["data"])
        if not page["data"]:
            return events
        after = page["next_cursor"]


async def test_a_paid_fee_reaches_the_webhook_signed_and_the_feed_carries_the_same_events(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    configured = await point(portal, receiver)
    assert configured["secret"].startswith("whsec_")
    body = payment_body()
    created = await portal.api.post("/v1/payments", json=body, headers=key())
    assert created.status_code == 201, created.text
    payment = created.json()
    async with stack.hub() as hub:
        await pay(hub, payment["reference"])
    await wait_status(portal.api, payment["id"], "paid")
    await wait_for(lambda: any(e["type"] == "payment.paid" for e in receiver.unique().values()), what="payment.paid")

    # the receipt issued for the payment may follow: compare once the feed and the webhook have settled
    async def settled() -> list[dict] | None:
        fed = await feed_all(portal)
        return fed if [e["id"] for e in fed] == list(receiver.unique()) else None

    fed = await wait_for(settled, what="the feed and the webhook to agree")
    assert receiver.deliveries and all(d.verified for d in receiver.deliveries)
    pushed = list(receiver.unique().values())
    assert fed == pushed
    assert [e["type"] for e in pushed if e["type"].startswith("payment.")] == ["payment.pending", "payment.paid"]
    assert [e["sequence"] for e in pushed] == list(range(1, len(pushed) + 1))
    paid = next(e for e in pushed if e["type"] == "payment.paid")
    assert paid["dossier_code"] == body["dossier_code"]
    assert paid["data"]["id"] == payment["id"] and paid["data"]["status"] == "paid"
    assert set(paid) == {"id", "type", "created_at", "dossier_code", "sequence", "data"}
    for d in receiver.deliveries:
        assert d.headers["gateway-event-id"] == d.event["id"]
        assert d.headers["content-type"] == "application/json"


async def test_a_changed_byte_or_a_stale_timestamp_fails_verification(
    portal: Portal, receiver: Receiver, stack: Stack
) -> None:
    await point(portal, receiver)
    assert stack.db is not None
    await write_events(stack.db, portal.portal_id, 1, 1)
    await wait_for(lambda: receiver.verified(), what="a delivery")
    delivery = receiver.deliveries[0]
    header, body, secret = delivery.headers["gateway-signature"], delivery.body, receiver.secrets[0]
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert independent_verify(header, body, secret, now=time.time())
    assert not independent_verify(header, body[:-2] + b"1}", secret, now=time.time())
    assert not independent_verify(header, body, secret + "x", now=time.time())
    assert not independent_verify(header, body, secret, now=stamp + 301)
    older = header.replace(f"t={stamp}", f"t={stamp - 1}")
    assert not independent_verify(older, body, secret, now=time.time())


async def test_a_receiver_down_for_a_while_gets_every_event_once_in_dossier_order(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    recovers_at = time.time() + 3
    receiver.answer = lambda d: "ok" if d.at > recovers_at else "fail"
    ids = await write_events(stack.db, portal.portal_id, 300, dossiers=25)
    await wait_for(lambda: len(receiver.unique()) == len(ids), timeout=60, what="every event")

    events = list(receiver.unique().values())
    assert sorted(receiver.unique()) == sorted(ids)
    by_dossier: dict[str, list[int]] = {}
    for event in events:
        by_dossier.setdefault(event["dossier_code"], []).append(event["sequence"])
    for dossier, sequences in by_dossier.items():
        assert sequences == list(range(1, len(sequences) + 1)), dossier
    assert any(not d.verified or d.at <= recovers_at for d in receiver.deliveries)  # it did fail for a while
    first = (await portal.api.get("/v1/webhook/deliveries", params={"event_id": ids[0]})).json()["data"]
    assert first[0]["outcome"] == "delivered"  # newest first
    failed = [a for a in first if a["outcome"] == "failed"]
    assert failed and all(a["status_code"] == 503 and a["error"] == "HTTP 503" for a in failed)
    assert [a["attempt"] for a in reversed(first)] == list(range(1, len(first) + 1))
    assert all(a["url"] == receiver.url and a["latency_ms"] >= 0 and a["attempted_at"] for a in first)
    assert await feed_all(portal) == sorted(events, key=lambda e: ids.index(e["id"]))


async def test_events_of_a_portal_without_a_webhook_stay_in_the_feed_only(stack: Stack, portal: Portal) -> None:
    assert stack.db is not None
    ids = await write_events(stack.db, portal.portal_id, 3, 1)

    async def skipped() -> bool:
        async with stack.db.read() as conn:  # type: ignore[union-attr]
            rows = await conn.execute(select(ot.outbox.c.dispatch_state).where(ot.outbox.c.id.in_(ids)))
            return {r[0] for r in rows} == {"skipped"}

    await wait_for(skipped, timeout=10, what="events skipped")
    assert [e["id"] for e in await feed_all(portal)] == ids
