"""What happens when the hub is lost, slow or refusing: the janitor recovers, and retries book once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from tests.support.api import counts, create, key, pay, rows, wait_status
from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body


async def test_a_lost_callback_is_recovered_by_the_janitor(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"])
    paid = await wait_status(api, payment["id"], "paid")
    assert paid["hub_transaction_id"]
    sources = {r.source for r in await rows(stack, pt.hub_results, pt.hub_results.c.reference == payment["reference"])}
    assert sources == {"query"}, "only the janitor's query can have told us"


async def test_an_unpaid_payment_expires_after_a_last_query(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api, expires_in=1)
    expired = await wait_status(api, payment["id"], "expired")
    assert expired["status_reason"] == "expired_unpaid"
    events = await rows(stack, ot.outbox, ot.outbox.c.resource_id == payment["id"])
    assert [e.type for e in sorted(events, key=lambda e: e.sequence)] == ["payment.pending", "payment.expired"]
    queried = await rows(stack, pt.hub_results, pt.hub_results.c.reference == payment["reference"])
    assert queried and queried[-1].source == "query"


async def test_a_payment_in_progress_at_the_hub_is_not_expired(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api, expires_in=1)
    await hub.post(f"/control/payments/{payment['reference']}/pay", json={"result": "processing"})
    expires_at = datetime.fromisoformat(payment["expires_at"])

    async def asked_after_expiry() -> list[Any]:
        found = await rows(stack, pt.hub_results, pt.hub_results.c.reference == payment["reference"])
        return [r for r in found if r.source == "query" and r.received_at >= expires_at]

    asked = await wait_for(asked_after_expiry, timeout=30, what="the janitor's query after the payment's expiry")
    assert asked[0].outcome == "processing"
    still = (await api.get(f"/v1/payments/{payment['id']}", headers=key())).json()
    assert still["status"] == "pending", "a payment the hub is still processing is not expired"
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")


async def test_an_init_refused_by_the_hub_fails_the_payment(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    await hub.put("/control/faults", json={"init": {"fail_code": "99"}})
    headers = key()
    response = await api.post("/v1/payments", json=payment_body(), headers=headers)
    assert response.status_code == 502
    problem = response.json()
    assert problem["code"] == "hub_rejected" and problem["hub_code"] == "99"
    failed = (await api.get(f"/v1/payments/{problem['payment_id']}")).json()
    assert failed["status"] == "failed" and failed["checkout_url"] is None
    replay = await api.post(
        "/v1/payments", json=payment_body(**{k: failed[k] for k in ("dossier_code",)}), headers=key()
    )
    assert replay.status_code == 502  # the fault is still on: a new key makes a new attempt


async def test_a_hub_timeout_while_booking_then_a_retry_books_once(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    await hub.put("/control/faults", json={"init": {"stall_seconds": 3}})  # beyond the gateway's 2 s read timeout
    body, headers = payment_body(), key()
    first = await api.post("/v1/payments", json=body, headers=headers)
    assert first.status_code == 503
    assert first.json()["code"] == "hub_unavailable" and first.headers["Retry-After"]
    payment_id = first.json()["payment_id"]
    await hub.delete("/control/faults")
    retry = await api.post("/v1/payments", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == payment_id and retry.json()["status"] == "pending"
    same_dossier = await rows(stack, pt.payments, pt.payments.c.dossier_code == body["dossier_code"])
    assert len(same_dossier) == 1
    orders = [o for o in (await hub.get("/control/payments")).json() if o["MaThamChieu"] == retry.json()["reference"]]
    assert len(orders) == 1, "the hub holds one order for the two attempts"


async def test_a_hub_error_page_is_an_unknown_outcome(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    await hub.put("/control/faults", json={"init": {"http_status": 500}})
    before = await counts(stack)
    response = await api.post("/v1/payments", json=payment_body(), headers=key())
    assert response.status_code == 503
    after = await counts(stack)
    assert after["payments"] == before["payments"] + 1, "kept, so that a retry resumes it"
    kept = (await api.get(f"/v1/payments/{response.json()['payment_id']}")).json()
    assert kept["status"] == "created"


async def test_an_expiry_the_query_reported_becomes_the_citizens_cancellation_when_the_callback_comes(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """The hub's query has one state for "expired or cancelled": the janitor can only record ``expired``. The
    late callback that says the citizen cancelled makes it ``cancelled``, and the dossier hears of it."""
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"], "24")
    expired = await wait_status(api, payment["id"], "expired")
    assert expired["status_reason"] == "hub_expired"
    resent = await hub.post(f"/control/payments/{payment['reference']}/callback/resend")
    assert resent.status_code == 200, resent.text
    cancelled = await wait_status(api, payment["id"], "cancelled")
    assert cancelled["status_reason"] == "hub_cancelled"
    events = await rows(stack, ot.outbox, ot.outbox.c.resource_id == payment["id"])
    assert [e.type for e in sorted(events, key=lambda e: e.sequence)] == [
        "payment.pending",
        "payment.expired",
        "payment.cancelled",
    ]
    again = await hub.post(f"/control/payments/{payment['reference']}/callback/resend")
    assert again.status_code == 200
    await wait_for(lambda: _replied(hub, payment["reference"], 2), timeout=15, what="the repeated callback answered")
    events = await rows(stack, ot.outbox, ot.outbox.c.resource_id == payment["id"])
    assert len(events) == 3, "a repeated callback changes nothing"


async def _replied(hub: httpx.AsyncClient, reference: str, deliveries: int) -> bool:
    found = (await hub.get(f"/control/payments/{reference}")).json()["callbacks"]
    answered = [d for d in found if any(a.get("reply_code") == "00" for a in d["attempts"])]
    return len(answered) >= deliveries
