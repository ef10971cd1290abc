"""PostgreSQL stopped, frozen and crashed under load: the gateway answers 503 problems quickly (readiness too),
the hub is told to retry in its own words, the post gets a 5xx it retries, and everything recovers by itself with
nothing lost or doubled."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from adapters.payhub import checksum
from adapters.postal import webhook
from tests.support.fault_bench import CLIENT_TIMEOUT, Bench, new_key, wait_ready
from tests.support.fault_probes import assert_not_ready, assert_unavailable, timed, under_load
from tests.support.fault_traffic import Order, Traffic, check_nothing_lost_or_doubled
from tests.support.services import wait_for
from tests.support.shipments import shipment_body
from tests.support.stack import HASH_KEY, POSTAL_SECRET, payment_body

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


async def book(bench: Bench) -> dict[str, Any]:
    async with bench.stack.client() as api:
        response = await api.post("/v1/shipments", json=shipment_body(), headers=new_key())
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


async def unpaid_payment(bench: Bench) -> dict[str, Any]:
    async with bench.stack.client() as api:
        response = await api.post("/v1/payments", json=payment_body(), headers=new_key())
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


async def hub_attempts(bench: Bench, reference: str) -> list[dict[str, Any]]:
    async with bench.stack.hub() as hub:
        order = (await hub.get(f"/control/payments/{reference}")).json()
    return [a for c in order["callbacks"] for a in c["attempts"]]


async def post_attempts(bench: Bench, original_id: str) -> list[dict[str, Any]]:
    async with bench.stack.post() as post:
        attempts = (await post.get("/control/webhook/attempts")).json()["attempts"]
    return [a for a in attempts if a["originalId"] == original_id]


async def probe_the_outage(bench: Bench, payment: dict[str, Any], shipment: dict[str, Any]) -> None:
    """While the database is unavailable: every kind of caller gets its bounded, retryable answer."""
    stack = bench.stack
    await assert_not_ready(stack, "database")
    async with stack.client() as api:
        created, _ = await timed(api.post("/v1/payments", json=payment_body(), headers=new_key()))
        assert_unavailable(created)
        read, _ = await timed(api.get(f"/v1/payments/{payment['id']}"))
        assert_unavailable(read)
    async with stack.hub() as hub, stack.post() as post:
        assert (await hub.post(f"/control/payments/{payment['reference']}/pay", json={"result": "00"})).is_success
        moved = await post.post(f"/control/orders/{shipment['original_id']}/advance", json={"to": 2})
        assert moved.status_code == 200, moved.text
    pushed = await push_signed(stack, moved.json()["events"][0])
    assert_unavailable(pushed)

    async def hub_told_to_retry() -> list[dict[str, Any]]:
        return [a for a in await hub_attempts(bench, payment["reference"]) if a["http_status"] or a["error"]]

    first = (await wait_for(hub_told_to_retry, timeout=CLIENT_TIMEOUT, what="the hub's callback"))[0]
    # "99", or no answer within the sandbox's (time-scaled, 1 s) timeout: either way the hub sends it again
    told = (first["http_status"], first["reply_code"], first["verified"]) == (200, "99", True)
    assert told or (first["http_status"] is None and first["error"]), first
    async with stack.hub() as hub:
        confirm = (await hub.get(f"/control/payments/{payment['reference']}/callback")).json()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as client:
        reply = (await client.post("/callbacks/payhub", json=confirm)).json()
    assert reply["MaLoi"] == "99" and checksum.verify("confirm-ack", reply, HASH_KEY, reply["MaXacThuc"]), reply

    async def post_answered() -> list[dict[str, Any]]:
        attempts = await post_attempts(bench, shipment["original_id"])
        return [a for a in attempts if a["status"] == 2 and (a["httpStatus"] or a["error"])]

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as client:
        exposed = (await client.get("/metrics")).text
    for where in ("request", "hub_callback", "ready"):
        assert f'gateway_database_unavailable_total{{where="{where}"}}' in exposed, where
    attempt = (await wait_for(post_answered, timeout=CLIENT_TIMEOUT, what="the post's push"))[0]
    # a 503, or no answer within the sandbox's (time-scaled, 1 s) timeout: either way the post pushes again
    assert attempt["httpStatus"] == 503 or (attempt["httpStatus"] is None and attempt["error"]), attempt


async def push_signed(stack: Any, event: dict[str, Any]) -> httpx.Response:
    """The post's push of ``event``, signed as the post signs it, sent with the suite's client timeout."""
    body = json.dumps(event).encode()
    header = webhook.sign(POSTAL_SECRET, int(time.time()), body)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as client:
        return await client.post(
            "/callbacks/postal", content=body, headers={"Content-Type": "application/json", webhook.HEADER: header}
        )


async def check_recovered(bench: Bench, traffic: Traffic, payment: dict[str, Any], shipment: dict[str, Any]) -> None:
    stack = bench.stack
    await wait_ready(stack, timeout=60)
    await traffic.finish()
    failures = traffic.failures()
    assert not failures, f"{failures[:5]} in {traffic.summary()}"
    assert any(a.code == "database_unavailable" for a in traffic.answers), "the load never met the outage"
    traffic.orders.append(_paid(payment))
    await check_nothing_lost_or_doubled(stack, bench.portal_id, bench.receiver, traffic.orders)
    async with stack.client() as api:

        async def picked_up() -> bool:
            timeline = (await api.get(f"/v1/shipments/{shipment['id']}")).json()["timeline"]
            return [str(e["code"]) for e in timeline].count("2") == 1

        await wait_for(picked_up, timeout=30, what="the post's event recorded once")


def _paid(payment: dict[str, Any]) -> Order:
    return Order("", {"dossier_code": payment["dossier_code"]}, payment, paid_at_hub=True)


async def test_a_stopped_database_answers_503_and_everything_recovers(healthy: Bench) -> None:
    bench = healthy
    payment, shipment = await unpaid_payment(bench), await book(bench)
    async with under_load(bench) as traffic:
        await asyncio.to_thread(bench.pg.stop, "fast")
        await probe_the_outage(bench, payment, shipment)
        await asyncio.to_thread(bench.pg.start)
    await check_recovered(bench, traffic, payment, shipment)


async def test_a_frozen_database_answers_503_in_bounded_time_and_everything_recovers(healthy: Bench) -> None:
    bench = healthy
    payment, shipment = await unpaid_payment(bench), await book(bench)
    async with under_load(bench) as traffic:
        bench.pg.freeze()
        try:
            await probe_the_outage(bench, payment, shipment)
        finally:
            bench.pg.thaw()
    await check_recovered(bench, traffic, payment, shipment)


async def test_database_crashes_and_restarts_under_load_lose_nothing(healthy: Bench) -> None:
    bench = healthy
    async with under_load(bench) as traffic:
        for _ in range(3):
            await asyncio.to_thread(bench.pg.stop, "immediate")
            await asyncio.to_thread(bench.pg.start)
            await wait_ready(bench.stack, timeout=60)
            await wait_for(lambda n=len(traffic.orders): len(traffic.orders) > n + 2, timeout=60, what="progress")
    await wait_ready(bench.stack, timeout=60)
    await traffic.finish()
    failures = traffic.failures()
    assert not failures, f"{failures[:5]} in {traffic.summary()}"
    await check_nothing_lost_or_doubled(bench.stack, bench.portal_id, bench.receiver, traffic.orders)
