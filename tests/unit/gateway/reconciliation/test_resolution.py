"""Automatic resolution on both engines, with the hub sandbox served in this process (under uvicorn, in a thread):
a payment the hub settled but whose callback never came is asked about, applied through ``HubResults`` (the
callback's path, which announces the collection for its receipt) and its break resolved by the system; an amount
that differs, a reference not ours and an unreachable hub leave the break open."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import msgspec
import pytest

from adapters.payhub import PayhubClient, PayhubConfig
from adapters.payhub.sandbox.app import create_app as hub_app
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.vntime import now_utc
from gateway import portals, staff
from gateway.kernel.attempts import Attempt
from gateway.kernel.portal import PortalContext
from gateway.kernel.scope import AgencyScope
from gateway.payments import HubResults, PaymentService, payment_by_reference
from gateway.payments.records import Payment
from gateway.payments.schemas import CreatePayment
from gateway.reconciliation import get_break, resolve_as_system
from gateway.reconciliation.resolution import resolve_run
from gateway.settings import load
from gateway.store import idempotency
from gateway.store.db import Database
from tests.support.payhub_sandbox import served
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.stack import AGENCY, payment_body

KEY = "unit-hash-key-" + secrets.token_hex(4)
PARTNER = "DVC-UNIT-01"
EVERYTHING = AgencyScope.everything()


@dataclass
class Hub:
    db: Database
    control: httpx.AsyncClient
    client: PayhubClient
    results: HubResults
    payments: PaymentService
    portal: PortalContext
    collected: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
async def hub(db: Database) -> AsyncIterator[Hub]:
    await portals.upsert_agency(db, AGENCY)
    _, api_key = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
    portal = await portals.authenticate(db, api_key)
    assert portal is not None
    collected: list[tuple[str, str]] = []

    async def on_collected(source_type: str, source_id: str) -> None:
        collected.append((source_type, source_id))

    results = HubResults(db, on_collected)
    with served(hub_app(SandboxConfig(hash_key=KEY, partner_code=PARTNER, public_url="http://hub.local"))) as url:
        settings = load({"PAYHUB_HASH_KEY": KEY, "PAYHUB_PARTNER_CODE": PARTNER, "PAYHUB_URL": url})
        client = PayhubClient(PayhubConfig(url, PARTNER, KEY))
        try:
            async with httpx.AsyncClient(base_url=url) as control:
                payments = PaymentService(db, client, results, settings)
                yield Hub(db, control, client, results, payments, portal, collected)
        finally:
            await client.aclose()


async def _paid_without_callback(hub: Hub) -> Payment:
    """A payment the citizen paid at the hub, whose callback the hub never sent."""
    key, body_hash = secrets.token_hex(8), secrets.token_hex(8)
    asked = idempotency.Request(hub.portal.portal_id, key, "POST", "/v1/payments", body_hash)
    claimed = await idempotency.claim(hub.db, asked, now_utc())
    assert isinstance(claimed, Attempt)
    payment = await hub.payments.create(hub.portal, claimed, msgspec.convert(payment_body(), CreatePayment))
    await hub.control.put("/control/faults", json={"callback": {"drop": 1}})
    paid = await hub.control.post(f"/control/payments/{payment.reference}/pay", json={})
    assert paid.status_code == 200 and paid.json()["MaLoi"] == "00"
    return payment


async def _status(hub: Hub, reference: str) -> str:
    async with hub.db.read() as conn:
        found = await payment_by_reference(conn, reference)
    assert found is not None
    return found.status


async def test_a_settled_payment_whose_callback_never_came_is_collected_and_its_break_resolved(hub: Hub) -> None:
    payment = await _paid_without_callback(hub)
    assert await _status(hub, payment.reference) == "pending"
    run = await add_run(hub.db, agencies={AGENCY.code: {}})
    b = await add_break(hub.db, run, agency=AGENCY.code, reference=payment.reference, hub_amount=payment.amount)
    report = await resolve_run(hub.results, hub.client, run, now_utc())
    assert (report.asked, report.resolved, report.left_open) == (1, 1, 0)
    assert await _status(hub, payment.reference) == "paid"
    assert hub.collected == [("payment", payment.id)], "collected through the callback's path: its receipt follows"
    async with hub.db.read() as conn:
        detail = await get_break(conn, EVERYTHING, b)
    assert (detail.item.status, detail.item.resolution, detail.item.resolved_by) == ("resolved", "hub_query", "system")
    assert "150.000 đồng" in detail.item.note and payment.id in detail.item.note
    assert [(h.actor, h.action) for h in detail.history] == [(staff.SYSTEM, "break.resolved")]
    again = await resolve_run(hub.results, hub.client, run, now_utc())
    assert again.candidates == 0, "a resolved break is not asked about again"


async def test_a_settled_amount_that_differs_is_never_adjusted(hub: Hub) -> None:
    payment = await _paid_without_callback(hub)
    run = await add_run(hub.db, agencies={AGENCY.code: {}})
    b = await add_break(hub.db, run, agency=AGENCY.code, reference=payment.reference, hub_amount=payment.amount + 1_000)
    report = await resolve_run(hub.results, hub.client, run, now_utc())
    assert (report.resolved, report.left_open) == (0, 1)
    async with hub.db.read() as conn:
        detail = await get_break(conn, EVERYTHING, b)
    assert detail.item.status == "open" and detail.history == []


async def test_a_reference_not_ours_or_an_unreachable_hub_leaves_the_break_open(hub: Hub) -> None:
    payment = await _paid_without_callback(hub)
    run = await add_run(hub.db, agencies={AGENCY.code: {}})
    stranger = await add_break(hub.db, run, agency=AGENCY.code, code="missing_in_ours", reference="PGNOTOURS0001")
    ours = await add_break(hub.db, run, agency=AGENCY.code, reference=payment.reference, hub_amount=payment.amount)
    await hub.control.put("/control/faults", json={"query": {"http_status": 503}})
    report = await resolve_run(hub.results, hub.client, run, now_utc())
    assert (report.not_ours, report.unreachable, report.resolved) == (1, 1, 0)
    async with hub.db.read() as conn:
        for b in (stranger, ours):
            assert (await get_break(conn, EVERYTHING, b)).item.status == "open"
    assert await _status(hub, payment.reference) == "pending"


async def test_a_line_of_another_agency_is_not_resolved_but_shown_to_the_payment_s_agency(hub: Hub) -> None:
    payment = await _paid_without_callback(hub)
    run = await add_run(hub.db, agencies={"B02": {}})
    b = await add_break(
        hub.db, run, agency="B02", code="missing_in_ours", reference=payment.reference, hub_amount=payment.amount
    )
    report = await resolve_run(hub.results, hub.client, run, now_utc())
    assert (report.other_agency, report.asked, report.resolved) == (1, 0, 0)
    assert await _status(hub, payment.reference) == "pending", "the hub's line is not the payment's agency's word"
    async with hub.db.read() as conn:
        detail = await get_break(conn, AgencyScope.of([AGENCY.code]), b)
    assert (detail.item.status, detail.item.agency_code, detail.item.our_agency_code) == ("open", "B02", AGENCY.code)
    [entry] = detail.history
    assert (entry.actor, entry.action) == (staff.SYSTEM, "break.facts_changed")
    assert (entry.before, entry.after) == ({"our_agency_code": ""}, {"our_agency_code": AGENCY.code})
    assert detail.item.version == 2 and AGENCY.code in entry.note
    again = await resolve_run(hub.results, hub.client, run, now_utc())
    assert again.other_agency == 1 and len(await _history(hub, b)) == 1, "told once"


async def _history(hub: Hub, break_id: str) -> list[staff.AuditEntry]:
    async with hub.db.read() as conn:
        return (await get_break(conn, EVERYTHING, break_id)).history


async def test_an_agency_mismatch_is_never_asked_about_nor_resolved_by_the_system(hub: Hub) -> None:
    payment = await _paid_without_callback(hub)
    run = await add_run(hub.db, agencies={AGENCY.code: {}, "B02": {}})
    b = await add_break(
        hub.db, run, agency="B02", our_agency_code=AGENCY.code, code="agency_mismatch",
        reference=payment.reference, our_id=payment.id, hub_amount=payment.amount, our_amount=payment.amount,
    )  # fmt: skip
    report = await resolve_run(hub.results, hub.client, run, now_utc())
    assert (report.candidates, report.asked, report.resolved) == (0, 0, 0)
    assert await _status(hub, payment.reference) == "pending"
    async with hub.db.transaction() as conn:
        assert not await resolve_as_system(conn, b, "hub_query", "Cổng thanh toán: đã thanh toán", now_utc())
    assert (await _history(hub, b)) == []
