"""A source that cannot be receipted is held with its reason; the wait doubles per failed attempt up to a ceiling;
the sweeper skips it until then; an operator can ask for an attempt now; issuing it forgets it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import literal, select, true

from gateway.portals import service as portals
from gateway.portals.service import AgencySpec
from gateway.receipts import unissued
from gateway.receipts.unissued import Unissued, backoff
from gateway.store.db import Database
from gateway.store.tables.receipts import unissued_receipts

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
SPEC = AgencySpec(
    code="000.00.07.H26",
    name="UBND xã thử",
    tax_code="0101234572",
    address="Xã thử",
    treasury_account="3511.0.7",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND xã",
)


def test_the_wait_doubles_up_to_the_ceiling() -> None:
    assert [backoff(n, 300, 3600).total_seconds() for n in (1, 2, 3, 4, 5, 60)] == [300, 600, 1200, 2400, 3600, 3600]


async def _due(db: Database, source_id: str, now: datetime) -> bool:
    async with db.read() as conn:
        query = select(true()).where(unissued.not_held("payment", literal(source_id), now))
        return (await conn.execute(query)).first() is not None


async def test_a_held_source_waits_out_its_back_off(db: Database) -> None:
    agency_id = await portals.upsert_agency(db, SPEC)
    portal_id, _ = await portals.create_portal(db, "Cổng thử", [SPEC.code])
    failed = Unissued("payment", "pay_1", portal_id, agency_id, "HS-1", "no receipt signing key for agency X")
    assert await _due(db, "pay_1", T0)

    await unissued.hold(db, [failed], T0, 300, 3600)
    await unissued.hold(db, [failed], T0 + timedelta(seconds=301), 300, 3600)
    async with db.read() as conn:
        (row,) = (await conn.execute(select(unissued_receipts))).all()
        assert (await unissued.counts(conn)) == {"payment": 1}
        listed = await unissued.listing(conn)
    assert row.attempts == 2 and row.first_failed_at == T0 and row.reason == failed.reason
    assert row.retry_at == T0 + timedelta(seconds=301 + 600)
    assert listed[0].agency_code == SPEC.code
    assert not await _due(db, "pay_1", T0 + timedelta(seconds=900))
    assert await _due(db, "pay_1", T0 + timedelta(seconds=901))

    assert await unissued.retry_now(db, T0 + timedelta(seconds=400), "000.00.99.H26") == 0  # another agency's
    assert await unissued.retry_now(db, T0 + timedelta(seconds=400), SPEC.code) == 1
    assert await _due(db, "pay_1", T0 + timedelta(seconds=400))

    async with db.transaction() as tx:
        await unissued.release(tx, "payment", ["pay_1"])
    async with db.read() as conn:
        assert (await unissued.counts(conn)) == {}
