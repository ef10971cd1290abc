"""The real PostalClient against the real sandbox: tokens, orders, cancel, detail, outages."""

from __future__ import annotations

import httpx
import pytest

from adapters.postal import s10
from adapters.postal.addresses import validate_address
from adapters.postal.client import PostalClient
from adapters.postal.codes import ShipmentState
from adapters.postal.errors import OutcomeUnknown, PostalRejected, PostalUnavailable
from adapters.postal.messages import CreateOrder, Party
from tests.support.postal_sandbox import Control, free_port, make_config

CITIZEN = Party("Trần Thị Bình", "0987 654 321", validate_address("01", "00008", "12 Liễu Giai"))
AGENCY = Party("UBND Phường Ba Đình", "024 3825 1234", validate_address("01", "00004", "1 Đội Cấn"))


def parcel(reference: str, cod: int = 0, weight: int = 400) -> CreateOrder:
    return CreateOrder(sale_order_code=reference, sender=AGENCY, receiver=CITIZEN, weight_grams=weight,
                       content_note="Kết quả thủ tục hành chính", cod_amount=cod)


async def test_the_token_is_fetched_once_and_reused(client: PostalClient) -> None:
    created = await client.create_order(parcel("SHP-T1"))
    await client.get_order(created.originalId)
    await client.tracking(0)
    assert client.logins == 1


async def test_a_token_expired_mid_run_is_renewed_once(client: PostalClient, control: Control) -> None:
    first = await client.create_order(parcel("SHP-T2"))
    await control.faults(expire_tokens=True)
    detail = await client.get_order(first.originalId)
    assert detail.original_id == first.originalId
    assert client.logins == 2
    await client.tracking(0)
    assert client.logins == 2


async def test_wrong_credentials_are_a_refusal(sandbox_url: str, control: Control) -> None:
    async with PostalClient(make_config(sandbox_url, password="wrong")) as postal:
        with pytest.raises(PostalRejected) as refused:
            await postal.tracking(0)
    assert refused.value.code == "LOGIN_FAILED"


async def test_create_order_is_idempotent_by_sale_order_code(client: PostalClient, control: Control) -> None:
    first = await client.create_order(parcel("SHP-100", cod=120_000))
    again = await client.create_order(parcel("SHP-100", cod=120_000))
    assert again == first
    assert s10.is_valid(first.itemCode) and first.itemCode.endswith("VN")
    assert first.totalFee > 0 and first.status == 1
    other = await client.create_order(parcel("SHP-101"))
    assert other.originalId != first.originalId and other.itemCode != first.itemCode


async def test_the_sandbox_refuses_what_the_post_refuses(sandbox_url: str, client: PostalClient) -> None:
    await client.login()
    token = client._token  # the sandbox is called raw here, past the client's own checks
    base = {"saleOrderCode": "RAW-1", "serviceCode": "HCC", "senderPhone": "0912345678", "receiverPhone": "0912345678",
            "senderProvinceCode": "01", "senderCommuneCode": "00004", "senderAddress": "1 Phố",
            "receiverProvinceCode": "01", "receiverCommuneCode": "00008", "receiverAddress": "2 Phố", "weight": "500"}
    cases = [({"addonService": [{"code": "COD", "propValue": "50000001"}]}, "COD_LIMIT"),
             ({"receiverPhone": "0123"}, "INVALID_PHONE"),
             ({"receiverCommuneCode": "00016"}, "INVALID_ADDRESS"),
             ({"weight": "0"}, "INVALID_WEIGHT")]
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        for change, code in cases:
            response = await http.post("/customer-partner/CreateOrder", headers={"token": token or ""},
                                       json={"orderCreationStatus": 1, "type": "GUI",
                                             "informationOrder": {**base, **change}})
            assert response.status_code == 400
            assert response.json() == {"success": False, "errorCode": code, "message": response.json()["message"]}


async def test_cancel_before_pickup_and_refused_after(client: PostalClient, control: Control) -> None:
    early = await client.create_order(parcel("SHP-C1"))
    await client.cancel(early.originalId)
    detail = await client.get_order(early.originalId)
    assert (detail.code, detail.state) == (9, ShipmentState.CANCELLED)

    late = await client.create_order(parcel("SHP-C2"))
    assert (await control.advance(late.originalId, to=6)).status_code == 200
    with pytest.raises(PostalRejected) as refused:
        await client.cancel(late.originalId)
    assert refused.value.code == "CANNOT_CANCEL"
    assert (await client.get_order(late.originalId)).state is ShipmentState.PICKED_UP


async def test_get_order_returns_the_history_of_a_scenario(client: PostalClient, control: Control) -> None:
    created = await client.create_order(parcel("SHP-H1", cod=75_000))
    assert (await control.advance(created.originalId, scenario="fail_then_deliver")).status_code == 200
    detail = await client.get_order(created.originalId)
    assert [h.code for h in detail.history] == [1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 14]
    assert detail.state is ShipmentState.DELIVERED and detail.cod_amount == 75_000
    assert all(a.time < b.time for a, b in zip(detail.history, detail.history[1:], strict=False))
    assert detail.history[8].note  # the failed attempt says why
    with pytest.raises(PostalRejected) as refused:
        await client.get_order("OD-NOPE")
    assert refused.value.code == "ORDER_NOT_FOUND"


async def test_a_closed_order_cannot_be_advanced(client: PostalClient, control: Control) -> None:
    created = await client.create_order(parcel("SHP-X1"))
    await control.advance(created.originalId, scenario="return")
    response = await control.advance(created.originalId, to=14)
    assert response.status_code == 409
    assert (await control.advance(created.originalId, scenario="pickup_fail")).status_code == 409


async def test_a_post_outage_while_booking(client: PostalClient, control: Control) -> None:
    await client.login()
    await control.faults(http_status=503, calls=1)
    with pytest.raises(OutcomeUnknown):
        await client.create_order(parcel("SHP-O1"))
    booked = await client.create_order(parcel("SHP-O1"))  # the caller's retry with the same reference
    assert (await control.order(booked.originalId))["saleOrderCode"] == "SHP-O1"


async def test_a_timeout_after_the_post_booked_is_an_unknown_outcome(sandbox_url: str, control: Control) -> None:
    async with PostalClient(make_config(sandbox_url, read_timeout=0.5)) as postal:
        await postal.login()
        await control.faults(stall_seconds=2, stall_calls=1)
        with pytest.raises(OutcomeUnknown):
            await postal.create_order(parcel("SHP-O2"))
        booked = await postal.create_order(parcel("SHP-O2"))
    view = await control.order(booked.originalId)
    assert view["events"] and view["saleOrderCode"] == "SHP-O2"  # the stalled call did book it, once


async def test_a_read_during_an_outage_is_unavailable(client: PostalClient, control: Control) -> None:
    await client.login()
    await control.faults(http_status=502, calls=1)
    with pytest.raises(PostalUnavailable):
        await client.tracking(0)
    await client.tracking(0)


async def test_a_post_that_does_not_answer_is_unavailable() -> None:
    async with PostalClient(make_config(f"http://127.0.0.1:{free_port()}", connect_timeout=1)) as postal:
        with pytest.raises(PostalUnavailable):
            await postal.create_order(parcel("SHP-O3"))
