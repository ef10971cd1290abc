"""Creating, reading, listing and cancelling payments through the portal API, on both database engines."""

from __future__ import annotations

import asyncio

import httpx

from gateway.store.tables import payments as pt
from tests.support.api import counts, create, key, pay, rows, wait_status
from tests.support.stack import Stack, payment_body


async def test_create_returns_a_pending_payment_with_the_hubs_checkout_page(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    body = payment_body()
    response = await api.post("/v1/payments", json=body, headers=key())
    assert response.status_code == 201
    payment = response.json()
    assert payment["id"].startswith("pay_")
    assert payment["status"] == "pending"
    assert payment["amount"] == 150_000 == sum(f["amount"] for f in payment["fees"])
    assert payment["checkout_url"].startswith(f"{stack.hub_url}/")
    assert payment["dossier_code"] == body["dossier_code"]
    assert payment["payer"]["id_number"] == "********4567"
    assert payment["expires_at"] > payment["created_at"]
    fetched = await api.get(f"/v1/payments/{payment['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == payment


async def test_same_key_and_body_replays_the_first_answer(api: httpx.AsyncClient, stack: Stack) -> None:
    body, headers = payment_body(), key()
    first = await api.post("/v1/payments", json=body, headers=headers)
    before = await counts(stack)
    again = await api.post("/v1/payments", json=body, headers=headers)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await counts(stack) == before


async def test_same_key_with_another_body_is_refused(api: httpx.AsyncClient, stack: Stack) -> None:
    headers = key()
    assert (await api.post("/v1/payments", json=payment_body(), headers=headers)).status_code == 201
    before = await counts(stack)
    other = await api.post("/v1/payments", json=payment_body(), headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    assert await counts(stack) == before


async def test_a_post_without_idempotency_key_is_refused(api: httpx.AsyncClient, stack: Stack) -> None:
    before = await counts(stack)
    response = await api.post("/v1/payments", json=payment_body())
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert await counts(stack) == before


async def test_list_by_dossier_pages_newest_first(api: httpx.AsyncClient) -> None:
    dossier = "000.00.01.H26-LIST-" + key()["Idempotency-Key"][:6]
    made = [await create(api, dossier=dossier) for _ in range(3)]
    await create(api)  # another dossier
    page = (await api.get("/v1/payments", params={"dossier_code": dossier, "limit": 2})).json()
    assert [p["id"] for p in page["data"]] == [made[2]["id"], made[1]["id"]]
    rest = (await api.get("/v1/payments", params={"dossier_code": dossier, "cursor": page["next_cursor"]})).json()
    assert [p["id"] for p in rest["data"]] == [made[0]["id"]]
    assert rest["next_cursor"] is None


async def test_cancel_an_unpaid_payment(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    payment = await create(api)
    response = await api.post(f"/v1/payments/{payment['id']}/cancel", json={}, headers=key())
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = await api.post(f"/v1/payments/{payment['id']}/cancel", headers=key())
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_cancel_finds_a_payment_made_meanwhile_and_refuses(
    api: httpx.AsyncClient, hub: httpx.AsyncClient
) -> None:
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"])  # the callback is lost: only the last query can know
    response = await api.post(f"/v1/payments/{payment['id']}/cancel", headers=key())
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_cancellable"
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "paid"


async def test_a_paid_payment_cannot_be_cancelled(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")
    response = await api.post(f"/v1/payments/{payment['id']}/cancel", headers=key())
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_cancellable"


async def test_a_citizen_who_cancels_at_checkout_cancels_the_payment(
    api: httpx.AsyncClient, hub: httpx.AsyncClient
) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"], result="24")
    done = await wait_status(api, payment["id"], "cancelled")
    assert done["status_reason"] == "hub_cancelled"


async def test_insufficient_funds_fails_the_payment(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"], result="51")
    await wait_status(api, payment["id"], "failed")


async def test_the_same_key_sent_concurrently_creates_one_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    body, headers = payment_body(), key()
    responses = await asyncio.gather(*(api.post("/v1/payments", json=body, headers=headers) for _ in range(10)))
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert {r.json()["id"] for r in created} == {created[0].json()["id"]}
    assert all(r.status_code == 201 or r.json()["code"] == "idempotency_in_progress" for r in responses)
    assert len(await rows(stack, pt.payments, pt.payments.c.dossier_code == body["dossier_code"])) == 1
