"""The payment use cases without a server process: PaymentService, RefundService and HubResults on a migrated
SQLite store, talking to the hub sandbox served in this process (under uvicorn, in a thread) over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from adapters.payhub import HubResult, Outcome, PayhubClient, PayhubConfig
from adapters.payhub.sandbox.app import create_app as hub_app
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.vntime import now_utc
from gateway import portals
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.payments import Disposition, HubResults, PaymentService, RefundService
from gateway.payments import repository as payment_repository
from gateway.payments.records import Payment
from gateway.payments.schemas import CreatePayment, CreateRefund
from gateway.settings import Settings, load
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.tables import idempotency as it
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from tests.support.payhub_sandbox import served
from tests.support.services import migrated_database, wait_for
from tests.support.stack import AGENCY, payment_body

KEY = "unit-hash-key-" + secrets.token_hex(4)
PARTNER = "DVC-UNIT-01"


@dataclass
class World:
    db: Database
    hub: httpx.AsyncClient  # the sandbox's control API
    settings: Settings
    portal: PortalContext
    payments: PaymentService
    refunds: RefundService
    collected: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """On each engine: on PostgreSQL a creation stores its payment and moves it to pending in checked units."""
    sandbox = hub_app(SandboxConfig(hash_key=KEY, partner_code=PARTNER, public_url="http://hub.local"))
    with served(sandbox) as url:
        async with _world(request.param, tmp_path, url) as world:
            yield world


@asynccontextmanager
async def _world(backend: str, tmp_path: Path, url: str) -> AsyncIterator[World]:
    settings = load({"PAYHUB_HASH_KEY": KEY, "PAYHUB_PARTNER_CODE": PARTNER, "PAYHUB_URL": url})
    client = PayhubClient(PayhubConfig(url, PARTNER, KEY))
    async with migrated_database(backend, tmp_path) as db, httpx.AsyncClient(base_url=url) as hub:
        await portals.upsert_agency(db, AGENCY)
        _, api_key = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
        portal = await portals.authenticate(db, api_key)
        assert portal is not None
        collected: list[tuple[str, str]] = []

        async def on_collected(source_type: str, source_id: str) -> None:
            collected.append((source_type, source_id))

        results = HubResults(db, on_collected)
        payments = PaymentService(db, client, results, settings)
        try:
            yield World(db, hub, settings, portal, payments, RefundService(db, client), collected)
        finally:
            await client.aclose()


async def attempt(world: World, path: str = "/v1/payments") -> Attempt:
    asked = idempotency.Request(world.portal.portal_id, secrets.token_hex(8), "POST", path, secrets.token_hex(8))
    claimed = await idempotency.claim(world.db, asked, now_utc())
    assert isinstance(claimed, Attempt)
    return claimed


def request(**overrides: object) -> CreatePayment:
    return msgspec.convert(payment_body(**overrides), CreatePayment)


async def count(world: World, table: object, *where: object) -> int:
    async with world.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())  # type: ignore[arg-type]


async def test_a_created_payment_is_pending_at_the_hub_and_bound_to_its_attempt(world: World) -> None:
    tried = await attempt(world)
    payment = await world.payments.create(world.portal, tried, request())
    assert payment.status == "pending" and payment.checkout_url and payment.amount == 150_000
    assert [(x.kind, x.amount) for x in payment.lines] == [(2, 100_000), (1, 50_000)]
    k = it.idempotency_keys.c
    async with world.db.read() as conn:
        bound = (await conn.execute(select(k.resource_id).where(k.key == tried.key))).scalar_one()
    assert bound == payment.id
    assert await count(world, ot.outbox, ot.outbox.c.resource_id == payment.id, ot.outbox.c.type == "payment.pending")
    async with world.db.read() as conn:
        stored = await payment_repository.load(conn, payment.id)
    assert payment == stored, "the payment built from what was written is the payment as stored"
    again = await world.payments.create(world.portal, Attempt(tried.owner, tried.key, payment.id), request())
    assert again.id == payment.id and await count(world, pt.payments) == 1, "a retry resumes, never makes another"


async def test_a_payment_paid_while_its_init_is_answered_is_not_moved_back_to_pending(world: World) -> None:
    """The hub's word that the payment was paid arrives while the hub is still answering its init: the creation,
    which stored the payment as created, finds it paid (on PostgreSQL its kept move to pending finds the payment
    changed and reads it again) and answers it paid; pending is never announced."""
    await world.hub.put("/control/faults", json={"init": {"stall_seconds": 3.0}})
    creating = asyncio.create_task(world.payments.create(world.portal, await attempt(world), request()))

    async def stored() -> str | None:
        async with world.db.read() as conn:
            return (await conn.execute(select(pt.payments.c.reference))).scalar_one_or_none()

    reference = await wait_for(stored, what="the payment stored before its init is answered")
    paid = HubResult(reference, Outcome.PAID, 150_000, transaction_id="HUB-EARLY-1")
    assert await world.payments.results.apply(paid, now_utc()) is Disposition.APPLIED
    payment = await creating
    assert payment.status == "paid" and payment.reference == reference
    types = ot.outbox.c.type
    assert await count(world, ot.outbox, types == "payment.paid") == 1
    assert await count(world, ot.outbox, types == "payment.pending") == 0


async def test_an_attempt_whose_key_another_took_over_stores_nothing(world: World) -> None:
    """An attempt held its key too long: a retry took the key over and bound what it made. The first attempt's
    payment, lines and binding are refused whole (in progress: its retry resumes the other's payment); nothing of
    it is stored, and the key still names the other's payment."""
    tried = await attempt(world)
    async with world.db.unit() as uow:  # the retry that took the key over bound its own payment
        k = it.idempotency_keys.c
        await uow.conn.execute(
            it.idempotency_keys.update().where(k.key == tried.key).values(resource_id="pay_of_the_retry")
        )
    with pytest.raises(Refused) as refused:
        await world.payments.create(world.portal, tried, request())
    assert refused.value.code == "idempotency_in_progress" and refused.value.retry_after == 1
    assert await count(world, pt.payments) == 0 and await count(world, pt.payment_lines) == 0
    async with world.db.read() as conn:
        bound = (await conn.execute(select(k.resource_id).where(k.key == tried.key))).scalar_one()
    assert bound == "pay_of_the_retry"


async def test_a_payment_the_hub_refuses_fails_with_a_settled_refusal(world: World) -> None:
    await world.hub.put("/control/faults", json={"init": {"fail_code": "99"}})
    with pytest.raises(Refused) as refused:
        await world.payments.create(world.portal, await attempt(world), request())
    assert refused.value.code == "hub_rejected" and refused.value.settled
    async with world.db.read() as conn:
        failed = await payment_repository.load(conn, refused.value.extra["payment_id"])
    assert failed is not None and failed.status == "failed"


async def test_a_request_outside_the_catalogue_is_refused_and_stores_nothing(world: World) -> None:
    with pytest.raises(Refused) as refused:
        await world.payments.create(world.portal, await attempt(world), request(total=150_001))
    assert refused.value.code == "total_mismatch" and refused.value.field == "total"
    assert await count(world, pt.payments) == 0


async def test_a_paid_result_is_applied_once_with_its_ledger_and_announced(world: World) -> None:
    payment = await world.payments.create(world.portal, await attempt(world), request())
    paid = HubResult(payment.reference, Outcome.PAID, 150_000, transaction_id="HUB-UNIT-1")
    results = world.payments.results
    assert await results.apply(paid, now_utc()) is Disposition.APPLIED
    assert await results.apply(paid, now_utc()) is Disposition.DUPLICATE
    assert world.collected == [("payment", payment.id)], "announced once, after the commit"
    async with world.db.read() as conn:
        found = await payment_repository.load(conn, payment.id)
        ledger = (await conn.execute(select(func.sum(pt.ledger_entries.c.amount)))).scalar_one()
    assert found is not None and found.status == "paid" and found.paid_amount == 150_000
    assert await count(world, pt.ledger_entries, pt.ledger_entries.c.payment_id == payment.id) == 2 and ledger == 0
    wrong = HubResult(payment.reference, Outcome.PAID, 1, transaction_id="HUB-UNIT-1")
    assert await results.apply(wrong, now_utc()) is Disposition.AMOUNT_MISMATCH
    unknown = HubResult("NOSUCHREF", Outcome.PAID, 1)
    assert await results.apply(unknown, now_utc()) is Disposition.UNKNOWN_REFERENCE


async def test_an_unpaid_payment_is_cancelled_after_asking_the_hub(world: World) -> None:
    payment = await world.payments.create(world.portal, await attempt(world), request())
    cancelled = await world.payments.cancel(world.portal, payment.id)
    assert cancelled.status == "cancelled"
    assert (await world.payments.cancel(world.portal, payment.id)).status == "cancelled", "a repeat changes nothing"


async def paid(world: World) -> Payment:
    """A payment created, paid at the hub, and its result applied."""
    payment = await world.payments.create(world.portal, await attempt(world), request())
    await world.hub.post(f"/control/payments/{payment.reference}/pay", json={})
    await world.payments.check(payment.reference)
    return payment


async def test_refunds_stop_at_what_was_paid(world: World) -> None:
    payment = await paid(world)
    path = f"/v1/payments/{payment.id}/refunds"
    refund, status = await world.refunds.request(
        world.portal, await attempt(world, path), payment.id, CreateRefund(amount=50_000, reason="Trả lại một phần")
    )
    assert refund.amount == 50_000 and status.value in ("succeeded", "processing")
    with pytest.raises(Refused) as refused:
        await world.refunds.request(
            world.portal, await attempt(world, path), payment.id, CreateRefund(amount=100_001, reason="Quá số")
        )
    assert refused.value.code == "refund_exceeds_balance" and refused.value.field == "amount"


async def test_a_payment_reference_drawn_twice_is_drawn_again_and_nothing_else_changes(world: World) -> None:
    """References are random: the second payment draws the first one's, which the unique reference refuses; it is
    stored with the next draw, bound to its own attempt. Three taken draws in a row are an error, storing nothing."""
    first = await world.payments.create(world.portal, await attempt(world), request())
    draws = iter([first.reference, "PG261206AAAAAAAAAA"])
    world.payments.references = lambda: next(draws)
    second = await world.payments.create(world.portal, await attempt(world), request())
    assert second.reference == "PG261206AAAAAAAAAA" and second.id != first.id and second.status == "pending"
    assert await count(world, pt.payments) == 2

    world.payments.references = lambda: first.reference
    stuck = await attempt(world)
    with pytest.raises(IntegrityError):
        await world.payments.create(world.portal, stuck, request())
    assert await count(world, pt.payments) == 2
    async with world.db.read() as conn:
        bound = (
            await conn.execute(select(it.idempotency_keys.c.resource_id).where(it.idempotency_keys.c.key == stuck.key))
        ).scalar_one()
    assert bound is None, "nothing of the refused draws was stored"


async def test_a_refund_reference_drawn_twice_is_drawn_again(world: World) -> None:
    payment = await paid(world)
    path = f"/v1/payments/{payment.id}/refunds"
    first, _ = await world.refunds.request(
        world.portal, await attempt(world, path), payment.id, CreateRefund(amount=10_000, reason="Lần một")
    )
    draws = iter([first.reference, "RF261206BBBBBBBBBB"])
    world.refunds.references = lambda: next(draws)
    second, _ = await world.refunds.request(
        world.portal, await attempt(world, path), payment.id, CreateRefund(amount=20_000, reason="Lần hai")
    )
    assert second.reference == "RF261206BBBBBBBBBB" and second.id != first.id and second.amount == 20_000
