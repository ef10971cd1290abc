"""Init against the running sandbox through the real client: idempotence, refusals and the client's errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.payhub import HubRejected, HubUnavailable, OutcomeUnknown, PayhubClient, PayhubConfig
from adapters.payhub.messages import build_init, parse_init_reply
from tests.support.payhub_sandbox import KEY, PARTNER, Hub, free_port, init_order, set_faults


async def test_init_returns_a_checkout_page_on_the_hub(client: PayhubClient, hub: Hub) -> None:
    reply = await client.init(init_order("REF-INIT-1", 100_000, 50_000))

    assert reply.MaLoi == "00"
    assert reply.MaThamChieu == "REF-INIT-1"
    assert reply.UrlThanhToan.startswith(f"{hub.url}/checkout/")


async def test_same_reference_and_content_gets_the_same_page(client: PayhubClient) -> None:
    first = await client.init(init_order("REF-SAME", 150_000))
    later = replace(init_order("REF-SAME", 150_000), sent_at=datetime.now(UTC) + timedelta(minutes=3),
                    client_ip="198.51.100.20")

    again = await client.init(later)

    assert again.UrlThanhToan == first.UrlThanhToan


async def test_same_reference_with_other_content_is_refused_with_02(client: PayhubClient) -> None:
    await client.init(init_order("REF-DIFF", 150_000))

    with pytest.raises(HubRejected) as other_amount:
        await client.init(init_order("REF-DIFF", 200_000))
    with pytest.raises(HubRejected) as other_dossier:
        await client.init(init_order("REF-DIFF", 150_000, dossier="000.00.01.H26-261122-0002"))

    assert other_amount.value.code == "02"
    assert other_dossier.value.code == "02"


async def test_amount_other_than_the_sum_of_fee_lines_is_refused_with_03(client: PayhubClient) -> None:
    with pytest.raises(HubRejected) as refusal:
        await client.init(init_order("REF-SUM", 100_000, 50_000, total=160_000))

    assert refusal.value.code == "03"


async def test_bad_reference_is_refused(client: PayhubClient) -> None:
    with pytest.raises(HubRejected) as refusal:
        await client.init(init_order("REF WITH SPACES", 10_000))

    assert refusal.value.code == "99"


async def test_bad_checksum_is_answered_01_signed_and_records_nothing(client: PayhubClient, hub: Hub) -> None:
    message = build_init(init_order("REF-BADSUM", 150_000), PARTNER, KEY)
    message["SoTien"] = "1500000"  # changed after signing
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.post("/api/v2/payments/init", json=message)
        known = await http.get("/control/payments/REF-BADSUM")

    reply = parse_init_reply(response.content, KEY)
    assert reply.MaLoi == "01"
    assert reply.UrlThanhToan == ""
    assert known.status_code == 404


async def test_another_partner_is_answered_01(hub: Hub) -> None:
    stranger = PayhubClient(PayhubConfig(base_url=hub.url, partner_code="DVC-OTHER-99", hash_key=KEY))
    try:
        with pytest.raises(HubRejected) as refusal:
            await stranger.init(init_order("REF-STRANGER", 150_000))
    finally:
        await stranger.aclose()

    assert refusal.value.code == "01"


async def test_fail_code_fault_is_a_rejection(client: PayhubClient, control: httpx.AsyncClient) -> None:
    await set_faults(control, {"init": {"fail_code": "99"}})

    with pytest.raises(HubRejected) as refusal:
        await client.init(init_order("REF-FAIL99", 150_000))

    assert refusal.value.code == "99"
    assert (await control.get("/payments/REF-FAIL99")).status_code == 404


async def test_http_500_fault_is_an_unknown_outcome(client: PayhubClient, control: httpx.AsyncClient) -> None:
    await set_faults(control, {"init": {"http_status": 500}})

    with pytest.raises(OutcomeUnknown):
        await client.init(init_order("REF-HTTP500", 150_000))


async def test_stalled_init_is_an_unknown_outcome_that_a_repeat_resolves(
    hub: Hub, control: httpx.AsyncClient, client: PayhubClient
) -> None:
    await set_faults(control, {"init": {"stall_seconds": 1.0}})
    impatient = PayhubClient(PayhubConfig(base_url=hub.url, partner_code=PARTNER, hash_key=KEY,
                                          read_timeout=0.2))
    order = init_order("REF-STALL", 150_000)
    try:
        with pytest.raises(OutcomeUnknown):
            await impatient.init(order)
    finally:
        await impatient.aclose()
    (await control.delete("/faults")).raise_for_status()

    again = await client.init(order)
    recorded = (await control.get("/payments/REF-STALL")).json()

    assert again.UrlThanhToan == recorded["UrlThanhToan"]


async def test_refused_connection_is_hub_unavailable() -> None:
    nowhere = PayhubClient(PayhubConfig(base_url=f"http://127.0.0.1:{free_port()}", partner_code=PARTNER,
                                        hash_key=KEY, connect_timeout=1.0))
    try:
        with pytest.raises(HubUnavailable):
            await nowhere.init(init_order("REF-NOWHERE", 150_000))
    finally:
        await nowhere.aclose()
