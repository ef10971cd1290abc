"""The hub's callback: verified, applied at most once with its ledger entries and outbox event, and answered
with the hub's own code for every case."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select

from adapters.payhub import checksum
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from tests.support.api import counts, create, pay, rows, wait_status
from tests.support.stack import HASH_KEY, PARTNER, Stack


def confirm(reference: str, amount: int, code: str = "00", txn: str = "HUB-T-1", key: str = HASH_KEY) -> dict[str, Any]:
    message: dict[str, Any] = {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": code,
        "MaDoiTac": PARTNER,
        "MaThamChieu": reference,
        "SoTien": amount,
        "MaTienTe": "VND",
        "MaGiaoDich": txn,
        "MaNganHang": "VCB",
        "ThoiGianGD": "20261122083512",
        "ThongTinGiaoDich": "Nop le phi",
    }
    message["MaXacThuc"] = checksum.sign("confirm", message, key)
    return message


async def send(stack: Stack, body: dict[str, Any] | bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        content = body if isinstance(body, bytes) else msgspec.json.encode(body)
        response = await client.post("/callbacks/payhub", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    reply = response.json()
    assert checksum.verify("confirm-ack", reply, HASH_KEY, reply["MaXacThuc"]), "our reply must be signed"
    return reply  # type: ignore[no-any-return]


async def collections(stack: Stack, payment_id: str) -> int:
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(func.count(func.distinct(pt.ledger_entries.c.entry_group))).where(
            pt.ledger_entries.c.payment_id == payment_id, pt.ledger_entries.c.entry_group.like("collection:%")
        )
        return int((await conn.execute(query)).scalar_one())


async def test_paying_records_ledger_entries_and_events_in_order(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"])
    paid = await wait_status(api, payment["id"], "paid")
    assert paid["paid_amount"] == 150_000 and paid["hub_transaction_id"] and paid["paid_at"]
    entries = await rows(stack, pt.ledger_entries, pt.ledger_entries.c.payment_id == payment["id"])
    assert len(entries) == 2 and sum(e.amount for e in entries) == 0
    assert {e.account: e.amount for e in entries} == {
        "hub_receivable": 150_000,
        "agency:000.00.01.H26:collected": -150_000,
    }
    events = await rows(stack, ot.outbox, ot.outbox.c.resource_id == payment["id"])
    assert [(e.sequence, e.type) for e in sorted(events, key=lambda e: e.sequence)] == [
        (1, "payment.pending"),
        (2, "payment.paid"),
    ]
    assert events[-1].payload["status"] in ("pending", "paid")


async def test_a_callback_repeated_twenty_times_at_once_pays_once(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"])  # its own callback is dropped: we fire the real one ourselves
    body = (await hub.get(f"/control/payments/{payment['reference']}/callback")).content
    replies = await asyncio.gather(*(send(stack, body) for _ in range(20)))
    assert {r["MaLoi"] for r in replies} == {"00"}
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "paid"
    assert await collections(stack, payment["id"]) == 1
    paid_events = await rows(
        stack, ot.outbox, ot.outbox.c.resource_id == payment["id"], ot.outbox.c.type == "payment.paid"
    )
    assert len(paid_events) == 1


async def test_the_hubs_words_racing_on_one_payment_move_it_once_each_and_collect_once(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """Twenty callbacks at once, paid and cancelled by the citizen in turn: whichever is applied first, the payment
    ends paid (money the hub took is never refused), collected once, each of its moves announced once, in order;
    the callbacks that met a move of the payment between their reading and their write read it again."""
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"])
    words = [confirm(payment["reference"], 150_000, code="00" if i % 2 else "24") for i in range(20)]
    replies = await asyncio.gather(*(send(stack, word) for word in words))
    assert {r["MaLoi"] for r in replies} == {"00"}
    shown = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert shown["status"] == "paid" and shown["paid_amount"] == 150_000
    assert await collections(stack, payment["id"]) == 1
    entries = await rows(stack, pt.ledger_entries, pt.ledger_entries.c.payment_id == payment["id"])
    assert sorted(e.amount for e in entries) == [-150_000, 150_000]
    events = sorted(await rows(stack, ot.outbox, ot.outbox.c.resource_id == payment["id"]), key=lambda e: e.sequence)
    types = [e.type for e in events]
    assert types in (["payment.pending", "payment.paid"], ["payment.pending", "payment.cancelled", "payment.paid"])
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[-1].payload["status"] == "paid"
    late = types[1] == "payment.cancelled"  # cancelled first: the money is recorded late, and says so
    assert [e.payload["status_reason"] for e in events[1:]] == (
        ["hub_cancelled", "late_after_cancelled"] if late else [""]
    )
    audited = await rows(stack, pt.hub_results, pt.hub_results.c.reference == payment["reference"])
    assert len(audited) >= 20 and sum(a.disposition == "applied" for a in audited) == len(events) - 1


async def test_a_forged_checksum_is_refused_and_changes_nothing(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api)
    before = await counts(stack)
    forged = confirm(payment["reference"], 150_000, key="not-the-key")
    assert (await send(stack, forged))["MaLoi"] == "01"
    tampered = confirm(payment["reference"], 150_000)
    tampered["MaGiaoDich"] = "HUB-OTHER"
    assert (await send(stack, tampered))["MaLoi"] == "01"
    other_partner = confirm(payment["reference"], 150_000)
    other_partner["MaDoiTac"] = "SOMEONE-ELSE"
    other_partner["MaXacThuc"] = checksum.sign("confirm", other_partner, HASH_KEY)
    assert (await send(stack, other_partner))["MaLoi"] == "01"
    assert await counts(stack) == before
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"


async def test_an_unknown_reference_is_answered_02(stack: Stack) -> None:
    before = await counts(stack)
    assert (await send(stack, confirm("PG261122UNKNOWN001", 150_000)))["MaLoi"] == "02"
    assert await counts(stack) == before


async def test_a_wrong_amount_is_answered_03_and_changes_nothing(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api)
    before = await counts(stack)
    assert (await send(stack, confirm(payment["reference"], 149_999)))["MaLoi"] == "03"
    await hub.put("/control/faults", json={"callback": {"alter_amount": 1000}})
    await pay(hub, payment["reference"])
    log = await wait_for_attempt(hub, payment["reference"])
    assert log["reply_code"] == "03" and log["verified"]
    assert await counts(stack) == before
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"
    # The hub's callback with the right amount is then taken, so nothing of this test lands during the next one.
    await hub.delete("/control/faults")
    assert (await hub.post(f"/control/payments/{payment['reference']}/callback/resend")).status_code == 200
    await wait_status(api, payment["id"], "paid")


async def wait_for_attempt(hub: httpx.AsyncClient, reference: str) -> dict[str, Any]:
    from tests.support.services import wait_for

    async def attempt() -> dict[str, Any] | None:
        order = (await hub.get(f"/control/payments/{reference}")).json()
        done = [a for d in order["callbacks"] for a in d["attempts"] if a["reply_code"]]
        return done[-1] if done else None

    return await wait_for(attempt, what="a callback attempt answered")  # type: ignore[no-any-return]


async def test_malformed_callbacks_are_answered_99(stack: Stack) -> None:
    before = await counts(stack)
    assert (await send(stack, b"{not json"))["MaLoi"] == "99"
    assert (await send(stack, b"[]"))["MaLoi"] == "99"
    assert await counts(stack) == before


async def test_a_late_payment_after_expiry_is_still_recorded(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api, expires_in=1)
    await wait_status(api, payment["id"], "expired")
    assert (await send(stack, confirm(payment["reference"], 150_000, txn="HUB-LATE-1")))["MaLoi"] == "00"
    paid = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert paid["status"] == "paid" and paid["status_reason"] == "late_after_expired"
    assert await collections(stack, payment["id"]) == 1
