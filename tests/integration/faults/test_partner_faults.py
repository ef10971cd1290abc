"""The hub and the post slow, failing or answering garbage: the API answers a bounded 503 or 502 problem (never a
500, never a hang), the worker keeps going, and retries with the same Idempotency-Key after the fault book once."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.store.tables import payments as pt
from gateway.store.tables import shipments as st
from tests.support.fault_bench import CLIENT_TIMEOUT, Bench, new_key
from tests.support.services import wait_for
from tests.support.shipments import shipment_body
from tests.support.stack import payment_body

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

# Beyond the stack's 2 s read timeouts; garbage is an HTML error page or JSON that is not the protocol's.
HUB_FAULTS = {
    "slow": {"stall_seconds": 3},
    "failing": {"http_status": 500},
    "garbage page": {"garbage": "text"},
    "garbage json": {"garbage": "json"},
}
POST_FAULTS = {
    "slow": {"stall_seconds": 3, "stall_calls": 1000},
    "failing": {"http_status": 500, "calls": 1000},
    "garbage page": {"garbage": 1000},
}


def assert_refused_cleanly(response: httpx.Response, seconds: float, codes: set[str]) -> dict[str, Any]:
    assert response.status_code in (502, 503), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] in codes, problem
    if response.status_code == 503:
        assert int(response.headers["retry-after"]) > 0
    assert seconds < CLIENT_TIMEOUT
    return problem  # type: ignore[no-any-return]


async def timed_post(client: httpx.AsyncClient, url: str, body: dict[str, Any], key: dict[str, str]) -> Any:
    started = time.monotonic()
    response = await client.post(url, json=body, headers=key)
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", list(HUB_FAULTS))
async def test_a_hub_that_is_slow_failing_or_talking_garbage(healthy: Bench, fault: str) -> None:
    stack = healthy.stack
    async with stack.client() as api, stack.hub() as hub:
        paid = (await api.post("/v1/payments", json=payment_body(), headers=new_key())).json()
        unseen = (await api.post("/v1/payments", json=payment_body(), headers=new_key())).json()
        assert (await hub.post(f"/control/payments/{paid['reference']}/pay", json={"result": "00"})).is_success

        async def is_paid() -> bool:
            return (await api.get(f"/v1/payments/{paid['id']}")).json()["status"] == "paid"

        await wait_for(is_paid, timeout=30, what="a paid payment")
        injected = HUB_FAULTS[fault]
        answer = await hub.put(
            "/control/faults", json={"init": injected, "query": injected, "refund": injected, "callback": {"drop": 1}}
        )
        assert answer.status_code == 200, answer.text
        # the citizen pays, the callback is lost: only the janitor's query, which now fails, can tell us
        assert (await hub.post(f"/control/payments/{unseen['reference']}/pay", json={"result": "00"})).is_success

        body, create_key = payment_body(), new_key()
        created, seconds = await timed_post(api, "/v1/payments", body, create_key)
        assert_refused_cleanly(created, seconds, {"hub_unavailable", "hub_rejected"})
        refund_body, refund_key = {"amount": 50_000, "reason": "Thu thừa"}, new_key()
        refunded, seconds = await timed_post(api, f"/v1/payments/{paid['id']}/refunds", refund_body, refund_key)
        assert_refused_cleanly(refunded, seconds, {"hub_unavailable", "hub_rejected"})

        assert (await api.get(f"/v1/payments/{unseen['id']}")).json()["status"] == "pending"

        await hub.delete("/control/faults")
        if created.status_code == 503:  # outcome unknown: the retry resumes the same payment
            again = await api.post("/v1/payments", json=body, headers=create_key)
            assert again.status_code == 201, again.text
        if refunded.status_code == 503:
            again = await api.post(f"/v1/payments/{paid['id']}/refunds", json=refund_body, headers=refund_key)
            assert again.status_code == 201, again.text

        async def recovered() -> bool:
            return (await api.get(f"/v1/payments/{unseen['id']}")).json()["status"] == "paid"

        await wait_for(recovered, timeout=30, what="the janitor to learn of the payment")
        refunds = (await hub.get(f"/control/payments/{paid['reference']}")).json()["refunds"]
    assert len(refunds) <= 1 and sum(r["SoTienHoan"] for r in refunds) <= 50_000, "refunded once at most"
    assert stack.db is not None
    async with stack.db.read() as conn:
        same = select(func.count()).select_from(pt.payments).where(pt.payments.c.dossier_code == body["dossier_code"])
        assert (await conn.execute(same)).scalar_one() <= 1, "one payment for the request and its retry"


@pytest.mark.parametrize("fault", list(POST_FAULTS))
async def test_a_post_that_is_slow_failing_or_talking_garbage(healthy: Bench, fault: str) -> None:
    stack = healthy.stack
    async with stack.client() as api, stack.post() as post:
        answer = await post.put("/control/faults", json=POST_FAULTS[fault])
        assert answer.status_code == 200, answer.text
        body, key = shipment_body(), new_key()
        created, seconds = await timed_post(api, "/v1/shipments", body, key)
        assert_refused_cleanly(created, seconds, {"postal_unavailable", "postal_rejected"})
        await post.delete("/control/faults")
        if created.status_code == 503:
            again = await api.post("/v1/shipments", json=body, headers=key)
            assert again.status_code == 201, again.text
    assert stack.db is not None
    async with stack.db.read() as conn:
        count = (
            select(func.count()).select_from(st.shipments).where(st.shipments.c.dossier_code == body["dossier_code"])
        )
        assert (await conn.execute(count)).scalar_one() == 1
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=CLIENT_TIMEOUT) as probe:
        assert (await probe.get("/health/ready")).status_code == 200
