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
