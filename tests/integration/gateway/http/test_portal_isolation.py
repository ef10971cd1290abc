"""Every /v1 route needs a key, and a portal never sees or touches another portal's payments."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import counts, create, key
from tests.support.stack import AGENCY, OTHER_AGENCY, Stack, payment_body


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer gwk_0123456789abcdefghjkmnpqrs.x"]
)
async def test_requests_without_a_valid_key_are_refused(stack: Stack, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers) as client:
        for response in (await client.get("/v1/payments"), await client.post("/v1/payments", json={}, headers=key())):
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_another_portals_payment_is_not_found(api: httpx.AsyncClient, stack: Stack) -> None:
    mine = await create(api)
    async with stack.client(stack.other_api_key) as other:
        assert (await other.get(f"/v1/payments/{mine['id']}")).status_code == 404
        listed = (await other.get("/v1/payments", params={"dossier_code": mine["dossier_code"]})).json()
        assert listed["data"] == []
        before = await counts(stack)
        cancel = await other.post(f"/v1/payments/{mine['id']}/cancel", headers=key())
        refund = await other.post(
            f"/v1/payments/{mine['id']}/refunds", json={"amount": 1, "reason": "x"}, headers=key()
        )
        assert cancel.status_code == refund.status_code == 404
        assert await counts(stack) == before
    assert (await api.get(f"/v1/payments/{mine['id']}")).json()["status"] == "pending"


async def test_a_portal_cannot_charge_for_an_agency_not_its_own(stack: Stack) -> None:
    async with stack.client(stack.other_api_key) as other:
        before = await counts(stack)
        response = await other.post("/v1/payments", json=payment_body(agency_code=AGENCY.code), headers=key())
        assert response.status_code == 422
        assert response.json()["code"] == "unknown_agency"
        assert await counts(stack) == before
    assert OTHER_AGENCY.code != AGENCY.code
