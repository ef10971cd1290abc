"""Init against the running sandbox through the real client: idempotence, refusals and the client's errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from adapters.partner_http import MAX_REPLY_BYTES
from adapters.payhub import HubRejected, HubUnavailable, OutcomeUnknown, PayhubClient, PayhubConfig
from adapters.payhub.messages import build_init, parse_init_reply
from tests.support.payhub_sandbox import KEY, PARTNER, Hub, free_port, init_order, served, set_faults


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


@pytest.mark.parametrize("told", [True, False], ids=["length-told", "chunked"])
async def test_a_reply_larger_than_any_of_the_hub_s_is_an_unknown_outcome_read_no_further(told: bool) -> None:
    """A server at the hub's address answering megabytes is not the hub: refused past MAX_REPLY_BYTES, whether it
    says its length first or streams without one. The stream sends twice the limit and then holds the rest back
    until the test ends: a client that read on would wait for it and fail on its read timeout instead."""
    held = threading.Event()

    async def flood() -> AsyncIterator[bytes]:
        for _ in range(2 * MAX_REPLY_BYTES // 65536):
            yield b" " * 65536
        await asyncio.to_thread(held.wait, 30)
        yield b"}"

    @post("/api/v2/payments/init", status_code=200)
    async def init() -> Response[Any]:
        if told:
            return Response(b"{" + b" " * (MAX_REPLY_BYTES + 1) + b"}", media_type="application/json")
        return Stream(flood(), media_type="application/json")

    with served(Litestar([init], logging_config=None)) as url:
        flooded = PayhubClient(PayhubConfig(base_url=url, partner_code=PARTNER, hash_key=KEY, read_timeout=5.0))
        try:
            with pytest.raises(OutcomeUnknown, match="a reply of"):
                await flooded.init(init_order("REF-FLOOD", 150_000))
        finally:
            held.set()
            await flooded.aclose()


async def test_the_hub_is_reached_through_the_proxy_the_environment_names(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's name here resolves nowhere: only the proxy (the sandbox itself, which takes the request's absolute
    address as any proxy is sent it) can carry the request; with the hub in NO_PROXY it is tried directly and fails."""
    monkeypatch.setenv("HTTP_PROXY", hub.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    config = PayhubConfig(base_url="http://hub.invalid", partner_code=PARTNER, hash_key=KEY, connect_timeout=2.0)
    proxied = PayhubClient(config)
    try:
        reply = await proxied.init(init_order("REF-PROXIED", 150_000))
    finally:
        await proxied.aclose()
    assert reply.MaThamChieu == "REF-PROXIED"

    monkeypatch.setenv("NO_PROXY", "hub.invalid")
    direct = PayhubClient(config)
    try:
        with pytest.raises(HubUnavailable):
            await direct.init(init_order("REF-DIRECT", 150_000))
    finally:
        await direct.aclose()


@pytest.mark.parametrize("status", [302, 307, 308])
async def test_a_redirect_is_not_followed_and_is_an_unknown_outcome(status: int) -> None:
    """The signed init goes to the hub's address only: a redirect elsewhere is not the hub's answer, and the place
    it names is never sent the message."""
    elsewhere: list[bytes] = []

    @post("/api/v2/payments/init", status_code=200)
    async def taken(request: Request[Any, Any, Any]) -> str:
        elsewhere.append(await request.body())
        return "{}"

    with served(Litestar([taken], logging_config=None)) as other:

        @post("/api/v2/payments/init", status_code=200)
        async def moved() -> Response[Any]:
            return Response(b"", status_code=status, headers={"Location": f"{other}/api/v2/payments/init"})

        with served(Litestar([moved], logging_config=None)) as url:
            client = PayhubClient(PayhubConfig(base_url=url, partner_code=PARTNER, hash_key=KEY))
            try:
                with pytest.raises(OutcomeUnknown, match=f"HTTP {status}"):
                    await client.init(init_order("REF-MOVED", 150_000))
            finally:
                await client.aclose()
    assert elsewhere == []


async def test_a_reply_dripped_a_byte_at_a_time_runs_out_of_time_as_a_whole() -> None:
    """Each byte comes well within the read timeout; the exchange as a whole still ends at its deadline (connect
    + twice the read timeout) rather than when the drip does."""

    async def drip() -> AsyncIterator[bytes]:
        for _ in range(60):  # 12 s of a byte every 0.2 s
            yield b" "
            await asyncio.sleep(0.2)  # the fault itself: a hub that answers this slowly
        yield b"{}"

    @post("/api/v2/payments/init", status_code=200)
    async def init() -> Stream:
        return Stream(drip(), media_type="application/json")

    with served(Litestar([init], logging_config=None)) as url:
        config = PayhubConfig(base_url=url, partner_code=PARTNER, hash_key=KEY, connect_timeout=1.0, read_timeout=1.0)
        slow = PayhubClient(config)
        try:
            with pytest.raises(OutcomeUnknown, match=r"init: TimeoutError$"):
                await slow.init(init_order("REF-DRIP", 150_000))
        finally:
            await slow.aclose()


async def test_a_closed_client_sends_nothing_more(hub: Hub, control: httpx.AsyncClient) -> None:
    client = PayhubClient(PayhubConfig(base_url=hub.url, partner_code=PARTNER, hash_key=KEY))
    await client.init(init_order("REF-BEFORE-CLOSE", 150_000))
    await client.aclose()
    with pytest.raises(HubUnavailable, match="closed"):
        await client.init(init_order("REF-AFTER-CLOSE", 150_000))
    assert (await control.get("/payments/REF-AFTER-CLOSE")).status_code == 404
    assert (await control.get("/payments/REF-BEFORE-CLOSE")).status_code == 200


@pytest.mark.parametrize("base_url", ["hub.example/api", "ftp://hub.example"], ids=["no scheme", "not http"])
async def test_an_address_that_is_not_an_http_url_is_hub_unavailable(base_url: str) -> None:
    """Nothing can be sent to it: unavailable (safe to try again once it is mended), not an unknown outcome."""
    misconfigured = PayhubClient(PayhubConfig(base_url=base_url, partner_code=PARTNER, hash_key=KEY))
    try:
        with pytest.raises(HubUnavailable):
            await misconfigured.init(init_order("REF-NOWHERE-URL", 150_000))
    finally:
        await misconfigured.aclose()
