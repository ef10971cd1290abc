"""The browser return page only displays."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from gateway.store.tables import payments as pt
from tests.support.api import counts, create, pay, return_params, rows, wait_status
from tests.support.processes import Process
from tests.support.services import free_port
from tests.support.stack import Stack


async def test_the_return_page_shows_our_record_and_changes_nothing(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api)
    before = await counts(stack)
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        page = await browser.get("/payments/return", params=return_params(payment["reference"]))
    assert page.status_code == 200
    assert "Đang chờ xác nhận" in page.text, "a return claiming success is not a payment"
    assert payment["dossier_code"] in page.text and "150.000 đồng" in page.text
    assert await counts(stack) == before
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"


async def test_after_payment_the_return_page_says_so_and_links_back(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        page = await browser.get("/payments/return", params=return_params(payment["reference"]))
    assert "Thanh toán thành công" in page.text
    back = page.text.split('id="back" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(back).query)
    assert back.startswith(payment["return_url"])
    assert query == {"payment_id": [payment["id"]], "status": ["paid"]}


async def test_a_tampered_return_is_not_trusted(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await create(api)
    params = return_params(payment["reference"])
    params["MaLoi"] = "24"
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        page = await browser.get("/payments/return", params=params)
        unknown = await browser.get("/payments/return", params=return_params("PG000000NOSUCH"))
    assert page.status_code == 400 and payment["dossier_code"] not in page.text
    assert unknown.status_code == 404


async def test_a_citizen_back_before_the_callback_sees_the_hubs_answer(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """The hub's callback is lost; the browser comes back with a verified success: the page asks the hub at once
    (the janitor's path) and shows the payment paid, without waiting for the janitor."""
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"])
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        page = await browser.get("/payments/return", params=return_params(payment["reference"]))
    assert page.status_code == 200 and "Thanh toán thành công" in page.text
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "paid"
    deliveries = (await hub.get(f"/control/payments/{payment['reference']}")).json()["callbacks"]
    assert all(not d["attempts"] for d in deliveries), "the callback was really dropped"


async def test_a_citizen_who_cancelled_sees_it_cancelled_though_the_query_says_expired_or_cancelled(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """The callback is late; the hub's query answers "4" (expired or cancelled) and the payment is recorded expired;
    the hub's signed return says the citizen cancelled, so the page says so, and changes nothing: the callback,
    when it comes, makes the record cancelled."""
    await hub.put("/control/faults", json={"callback": {"drop": 1}})
    payment = await create(api)
    await pay(hub, payment["reference"], "24")
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        cancelled_page = await browser.get("/payments/return", params=return_params(payment["reference"], code="24"))
        other_page = await browser.get("/payments/return", params=return_params(payment["reference"], code="51"))
    assert cancelled_page.status_code == 200 and "Giao dịch đã hủy" in cancelled_page.text
    assert "Giao dịch đã hết hạn" in other_page.text, "only the hub's signed cancellation picks the words"
    current = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert (current["status"], current["status_reason"]) == ("expired", "hub_expired"), "the page only displays"
    asked = await rows(stack, pt.hub_results, pt.hub_results.c.reference == payment["reference"])
    assert [(r.source, r.raw_code, r.outcome) for r in asked] == [("query", "4", "expired")]
    assert (await hub.post(f"/control/payments/{payment['reference']}/callback/resend")).status_code == 200
    await wait_status(api, payment["id"], "cancelled")


async def test_a_return_claiming_a_cancellation_does_not_cancel_a_payment_the_hub_still_holds(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api)
    before = await counts(stack)
    async with httpx.AsyncClient(base_url=stack.gateway_url) as browser:
        page = await browser.get("/payments/return", params=return_params(payment["reference"], code="24"))
    assert page.status_code == 200 and "Đang chờ xác nhận" in page.text
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"
    assert await counts(stack) == before


async def test_a_return_while_the_hub_does_not_answer_stays_pending_within_its_bound(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """The hub does not answer the query: the page says pending after the short bound, not after the hub
    client's long read timeout."""
    port = free_port()
    env = {**stack.gateway_env(), "PAYHUB_READ_TIMEOUT": "30", "RETURN_QUERY_TIMEOUT_SECONDS": "1"}
    env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    gateway = Process(f"gateway-return-{stack.backend}", ["gateway", "serve", "--port", str(port)], env, stack.workdir)
    gateway.start()
    try:
        await asyncio.to_thread(gateway.wait_http, f"http://127.0.0.1:{port}/health/live")
        await hub.put("/control/faults", json={"callback": {"drop": 1}, "query": {"stall_seconds": 20}})
        payment = await create(api)
        await pay(hub, payment["reference"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
            started = time.monotonic()
            page = await browser.get("/payments/return", params=return_params(payment["reference"]))
            elapsed = time.monotonic() - started
        assert page.status_code == 200 and "Đang chờ xác nhận" in page.text
        assert elapsed < 5, f"answered after {elapsed:.1f} s"
    finally:
        gateway.stop()
