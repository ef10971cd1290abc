from __future__ import annotations

import secrets

from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body


async def test_a_payment_paid_at_the_hub_becomes_paid(stack: Stack) -> None:
    async with stack.client() as api, stack.hub() as hub:
        created = await api.post("/v1/payments", json=payment_body(), headers={"Idempotency-Key": secrets.token_hex(8)})
        assert created.status_code == 201, created.text
        payment = created.json()
        assert payment["status"] == "pending"
        assert payment["checkout_url"].startswith(stack.hub_url)
        paid = await hub.post(f"/control/payments/{payment['reference']}/pay", json={"result": "00"})
        assert paid.status_code in (200, 201), paid.text

        async def is_paid() -> bool:
            got = await api.get(f"/v1/payments/{payment['id']}")
            return got.json()["status"] == "paid"

        await wait_for(is_paid, what="payment paid")
