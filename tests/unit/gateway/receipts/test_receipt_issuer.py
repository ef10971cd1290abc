"""The receipt issuer on SQLite, with the sources the bootstrap registers: a paid payment and a COD collection are
receipted once each, with their payer, lines and agency; a collection is pointed at its receipt; a source without a
signing key is held with its reason; refunds cancel or replace the receipt in force."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select, update

from adapters.postal import StatusEvent
from adapters.postal.codes import DELIVERED, state_of
from gateway.kernel.collected import COD, PAYMENT
from gateway.payments import PaymentCollections
from gateway.receipts import AgencyKeys, ReceiptIssuer, RefundFollowUp, unissued_counts
from gateway.receipts.presenter import data_of
from gateway.receipts.refunded import PARTLY_REFUNDED_REASON, REFUNDED_REASON
from gateway.receipts.repository import CANCELLED, ISSUED, load, of_source, original_of
from gateway.settings import Settings
from gateway.shipments import CodCollections, PostalTracking
from gateway.store.db import Database
from gateway.store.tables import payments as pt
from gateway.store.tables import shipments as st
from receipts import PAYMENT_COD, PAYMENT_ONLINE, SigningKey
from tests.support.collected_money import FEE, T0, agency_and_portal, delivered_shipment, paid_payment
from tests.support.stack import AGENCY

SETTINGS = Settings(payhub_hash_key="x", receipt_batch=10, receipt_sweep_grace_seconds=0)  # sweeps take all


def issuer(db: Database, key: SigningKey | None, settings: Settings = SETTINGS) -> ReceiptIssuer:
    keys = AgencyKeys({AGENCY.code: key} if key is not None else {})
    return ReceiptIssuer(db, keys, settings, (PaymentCollections(), CodCollections()))


async def test_a_paid_payment_is_receipted_once_with_its_payer_lines_and_agency(
    sqlite_db: Database, signing_key: SigningKey
) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    payment_id = await paid_payment(sqlite_db, portal_id, agency_id)
    receipts = issuer(sqlite_db, signing_key)

    first = await receipts.issue(PAYMENT, payment_id, T0)
    again = await receipts.issue(PAYMENT, payment_id, T0 + timedelta(seconds=5))

    assert first is not None and again == first
    async with sqlite_db.read() as conn:
        stored = await original_of(conn, PAYMENT, payment_id)
    assert stored is not None and stored.id == first and stored.status == ISSUED and stored.total == 2 * FEE
    data = data_of(stored)
    assert data.payer.name == "Nguyễn An" and data.payment_method == PAYMENT_ONLINE
    assert [(x.code, x.amount) for x in data.lines] == [("LP-A", FEE), ("LP-B", FEE)]
    assert data.collector.tax_code == AGENCY.tax_code and data.collector.name == AGENCY.name
    assert data.transaction_id == "HUB0001"


async def test_an_unpaid_payment_gets_no_receipt(sqlite_db: Database, signing_key: SigningKey) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    payment_id = await paid_payment(sqlite_db, portal_id, agency_id, status="pending")
    receipts = issuer(sqlite_db, signing_key)
    assert await receipts.issue(PAYMENT, payment_id, T0) is None
    assert await receipts.issue_pending(T0) == 0


async def test_the_sweep_receipts_every_kind_and_points_a_collection_at_its_receipt(
    sqlite_db: Database, signing_key: SigningKey
) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    payments = [await paid_payment(sqlite_db, portal_id, agency_id) for _ in range(3)]
    shipment_id = await delivered_shipment(sqlite_db, portal_id, agency_id, 2 * FEE)
    announced: list[tuple[str, str]] = []

    async def heard(source_type: str, source_id: str) -> None:
        announced.append((source_type, source_id))

    delivered = StatusEvent(
        original_id=f"OD-{shipment_id}",
        item_code="EB100000003VN",
        sale_order_code=shipment_id,
        code=DELIVERED,
        text="Phát thành công",
        state=state_of(DELIVERED),
        time=T0,
        cod_amount=2 * FEE,
    )
    await PostalTracking(sqlite_db, on_collected=heard).record([delivered], "webhook", T0)
    changed = select(st.shipments.c.updated_at).where(st.shipments.c.id == shipment_id)
    async with sqlite_db.read() as conn:
        collection = (await conn.execute(select(st.cod_collections))).one()
        collected_at = (await conn.execute(changed)).scalar_one()
    assert announced == [(COD, collection.id)]

    assert await issuer(sqlite_db, signing_key).issue_pending(T0) == 4
    assert await issuer(sqlite_db, signing_key).issue_pending(T0) == 0
    async with sqlite_db.read() as conn:
        receipt = await original_of(conn, COD, collection.id)
        linked = (await conn.execute(select(st.cod_collections.c.receipt_id))).scalar_one()
        originals = [await original_of(conn, PAYMENT, p) for p in payments]
        linked_at = (await conn.execute(changed)).scalar_one()
    assert receipt is not None and linked == receipt.id
    # the shipment shows the receipt: a change of the shipment, whose version (its updated_at) moved; not "later",
    # since the collection here was recorded at T0, a minute ahead of the clock the link is made by
    assert linked_at != collected_at
    data = data_of(receipt)
    assert data.payment_method == PAYMENT_COD and data.payer.name == "Trần Bình" and receipt.total == 2 * FEE
    assert (
        sorted(r.number for r in originals if r is not None) == [1, 2, 3] and receipt.number == 4
    )  # one series of one collector, without gaps


async def test_the_sweep_leaves_a_just_paid_payment_to_its_job_and_takes_it_once_the_grace_is_over(
    db: Database, signing_key: SigningKey
) -> None:
    agency_id, portal_id = await agency_and_portal(db)
    with_job, job_lost = [await paid_payment(db, portal_id, agency_id) for _ in range(2)]  # both paid at T0
    receipts = issuer(db, signing_key, msgspec.structs.replace(SETTINGS, receipt_sweep_grace_seconds=30))

    assert await receipts.issue_pending(T0 + timedelta(seconds=29)) == 0, "taken from the jobs within the grace"
    async with db.read() as conn:
        assert await unissued_counts(conn) == {}  # left alone, not held
        assert await original_of(conn, PAYMENT, with_job) is None
    first = await receipts.issue(PAYMENT, with_job, T0 + timedelta(seconds=29))  # the job right after payment

    assert await receipts.issue_pending(T0 + timedelta(seconds=30)) == 1  # the other's job was lost
    async with db.read() as conn:
        by_job, by_sweep = [await original_of(conn, PAYMENT, p) for p in (with_job, job_lost)]
    assert by_job is not None and by_job.id == first and by_sweep is not None
    assert (by_job.number, by_sweep.number) == (1, 2)


async def test_a_source_without_a_signing_key_is_held_with_its_reason(sqlite_db: Database) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    await paid_payment(sqlite_db, portal_id, agency_id)
    assert await issuer(sqlite_db, None).issue_pending(T0) == 0
    async with sqlite_db.read() as conn:
        assert await unissued_counts(conn) == {PAYMENT: 1}


async def test_a_refund_cancels_or_replaces_the_receipt_in_force(sqlite_db: Database, signing_key: SigningKey) -> None:
    agency_id, portal_id = await agency_and_portal(sqlite_db)
    full = await paid_payment(sqlite_db, portal_id, agency_id)
    part = await paid_payment(sqlite_db, portal_id, agency_id)
    assert await issuer(sqlite_db, signing_key).issue_pending(T0) == 2
    async with sqlite_db.transaction() as tx:
        p = pt.payments.c
        await tx.execute(update(pt.payments).where(p.id == full).values(status="refunded", refunded_amount=2 * FEE))
        await tx.execute(
            update(pt.payments).where(p.id == part).values(status="partially_refunded", refunded_amount=FEE // 2)
        )
    follow = RefundFollowUp(sqlite_db, AgencyKeys({AGENCY.code: signing_key}), SETTINGS, PaymentCollections())

    assert await follow.cancel_refunded(10, T0) == 1
    assert await follow.replace_partly_refunded(10, T0) == 1
    assert await follow.cancel_refunded(10, T0) == 0 and await follow.replace_partly_refunded(10, T0) == 0

    async with sqlite_db.read() as conn:
        (cancelled,) = await of_source(conn, PAYMENT, full, portal_id)
        original, replacement = await of_source(conn, PAYMENT, part, portal_id)
        assert (await load(conn, replacement.id)) == replacement
    assert cancelled.status == CANCELLED and cancelled.cancel_reason == REFUNDED_REASON
    assert original.status == CANCELLED and original.cancel_reason == PARTLY_REFUNDED_REASON
    assert original.replaced_by_id == replacement.id and replacement.replaces_id == original.id
    assert replacement.status == ISSUED and replacement.total == 2 * FEE - FEE // 2
    lines = msgspec.to_builtins(data_of(replacement).lines)
    assert [(x["code"], x["amount"]) for x in lines] == [("LP-A", FEE), ("LP-B", FEE // 2)]
