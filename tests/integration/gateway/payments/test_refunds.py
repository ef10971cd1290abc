"""Refunds, full or partial, never more than was paid, idempotent, and recorded in the ledger."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.store.tables import payments as pt
from tests.support.api import counts, create, key, pay, wait_status
from tests.support.stack import Stack


async def paid_payment(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> dict[str, Any]:
    payment = await create(api)
    await pay(hub, payment["reference"])
    return await wait_status(api, payment["id"], "paid")


async def ledger_balance(stack: Stack, payment_id: str) -> int:
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(func.sum(pt.ledger_entries.c.amount)).where(
            pt.ledger_entries.c.payment_id == payment_id, pt.ledger_entries.c.account == "hub_receivable"
        )
        return int((await conn.execute(query)).scalar_one())


async def test_partial_then_full_refund(api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack) -> None:
    payment = await paid_payment(api, hub)
    first = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={"amount": 50_000, "reason": "Thu thừa"}, headers=key()
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded" and first.json()["amount"] == 50_000
    partly = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert partly["status"] == "partially_refunded" and partly["refunded_amount"] == 50_000
    assert await ledger_balance(stack, payment["id"]) == 100_000
    second = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={"amount": 100_000, "reason": "Hủy hồ sơ"}, headers=key()
    )
    assert second.status_code == 201
    done = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert done["status"] == "refunded" and done["refunded_amount"] == 150_000 == done["paid_amount"]
    assert [r["amount"] for r in done["refunds"]] == [50_000, 100_000]
    assert await ledger_balance(stack, payment["id"]) == 0
    more = await api.post(f"/v1/payments/{payment['id']}/refunds", json={"amount": 1, "reason": "x"}, headers=key())
    assert more.status_code == 409 and more.json()["code"] == "payment_not_refundable"


async def test_a_refund_above_the_balance_is_refused(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)
    before = await counts(stack)
    response = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={"amount": 150_001, "reason": "x"}, headers=key()
    )
    assert response.status_code == 422
    assert response.json()["code"] == "refund_exceeds_balance" and response.json()["field"] == "amount"
    assert await counts(stack) == before


async def test_a_refund_reason_the_hub_cannot_carry_is_refused(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)
    before = await counts(stack)
    for reason in ("   ", "Thu thừa\u0007", "\u3000"):
        response = await api.post(
            f"/v1/payments/{payment['id']}/refunds", json={"amount": 1_000, "reason": reason}, headers=key()
        )
        assert response.status_code == 400, (reason, response.text)
        assert response.json()["code"] == "invalid_request" and response.json()["field"] == "reason"
    assert await counts(stack) == before


async def test_an_unpaid_payment_cannot_be_refunded(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api)
    response = await api.post(f"/v1/payments/{payment['id']}/refunds", json={"amount": 1, "reason": "x"}, headers=key())
    assert response.status_code == 409 and response.json()["code"] == "payment_not_refundable"


async def test_a_repeated_refund_request_refunds_once(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    payment = await paid_payment(api, hub)
    headers = key()
    body = {"amount": 20_000, "reason": "Thu thừa"}
    first = await api.post(f"/v1/payments/{payment['id']}/refunds", json=body, headers=headers)
    again = await api.post(f"/v1/payments/{payment['id']}/refunds", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["refunded_amount"] == 20_000


async def test_a_refund_still_processing_at_the_hub_completes_later(
    api: httpx.AsyncClient, hub: httpx.AsyncClient
) -> None:
    payment = await paid_payment(api, hub)
    await hub.put("/control/faults", json={"refund": {"processing": True}})
    response = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={"amount": 150_000, "reason": "Hủy"}, headers=key()
    )
    assert response.status_code == 202 and response.json()["status"] == "processing"
    over = await api.post(f"/v1/payments/{payment['id']}/refunds", json={"amount": 1, "reason": "x"}, headers=key())
    assert over.status_code == 422, "a refund in flight counts against the balance"
    order = (await hub.get(f"/control/payments/{payment['reference']}")).json()
    reference = order["refunds"][0]["MaYeuCauHoan"]
    await hub.post(f"/control/refunds/{reference}/complete")
    await wait_status(api, payment["id"], "refunded")
