"""What a settlement run reads of our payments and refunds (``payments.records_between``): every record of the
window with its exact times in UTC, its agency's code and its refund's reference, on both engines (PostgreSQL
reads them by COPY, SQLite by a cursor), whatever the server's time zone and date style."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from gateway import payments, portals
from gateway.payments import reconciling
from gateway.reconciliation import ours
from gateway.store.db import Database
from gateway.store.tables.payments import payments as payments_table
from gateway.store.tables.payments import refunds as refunds_table
from reconciliation.engine import RecordSpool

SPEC = portals.AgencySpec(
    code="000.00.31.H26",
    name="Ủy ban nhân dân quận Hoàn Kiếm",
    tax_code="0101234567",
    address="Hà Nội",
    treasury_account="3511.0.1054321",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND quận Hoàn Kiếm",
)
# 23:59:59.999999 on 30/11 and 00:00:00.000001 on 1/12, Vietnam time: the two sides of a business day's end
LAST = datetime(2026, 11, 30, 16, 59, 59, 999_999, tzinfo=UTC)
FIRST = datetime(2026, 11, 30, 17, 0, 0, 1, tzinfo=UTC)
OPENED = datetime(2026, 11, 29, 3, 4, 5, 678_901, tzinfo=UTC)


_SETTINGS = """
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'America/New_York');
  EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'Postgres, DMY');
END $$
"""


def _payment(n: int, agency_id: str, portal_id: str, status: str, paid_at: datetime | None) -> dict[str, object]:
    return {
        "id": f"pay_t{n}",
        "portal_id": portal_id,
        "agency_id": agency_id,
        "reference": f"PG2611300000{n:06d}",
        "dossier_code": f"000.00.31.H26-261130-{n:04d}",
        "procedure_code": "1.000001",
        "procedure_name": "Cấp bản sao",
        "service_code": "DV1",
        "service_name": "Lệ phí",
        "amount": 50_000 + n,
        "currency": "VND",
        "description": "Lệ phí",
        "status": status,
        "payer_name": "Nguyễn Văn A",
        "return_url": "https://cong.example.vn/ket-qua",
        "expires_at": OPENED + timedelta(days=1),
        "created_at": OPENED,
        "updated_at": OPENED,
        "paid_at": paid_at,
        "hub_transaction_id": f"HUB{n:012d}" if paid_at else None,
    }


async def test_records_of_a_window_have_their_vietnam_day_and_agency(db: Database) -> None:
    agency_id = await portals.upsert_agency(db, SPEC)
    portal_id, _ = await portals.create_portal(db, "Cổng thử", [SPEC.code])
    async with db.transaction() as conn:
        await conn.execute(
            payments_table.insert(),
            [
                _payment(1, agency_id, portal_id, "paid", LAST),
                _payment(2, agency_id, portal_id, "paid", FIRST),
                _payment(3, agency_id, portal_id, "pending", None),
            ],
        )
        await conn.execute(
            refunds_table.insert(),
            [
                {
                    "id": "rf_t1",
                    "payment_id": "pay_t1",
                    "reference": "RF0000000001",
                    "amount": 5_000,
                    "reason": "Hoàn phí",
                    "status": "succeeded",
                    "created_at": OPENED,
                    "updated_at": OPENED,
                    "completed_at": FIRST,
                }
            ],
        )
    async with db.transaction() as conn:
        if conn.dialect.name == "postgresql":  # the server's own settings must not change what is read
            await conn.execute(text(_SETTINGS))
    await db.dispose()  # new connections take the database's settings
    async with db.read() as conn:
        if conn.dialect.name == "postgresql":
            assert (await conn.execute(text("SHOW DateStyle"))).scalar_one() == "Postgres, DMY"
    since, until = OPENED - timedelta(days=1), FIRST + timedelta(days=1)
    rows: dict[str, dict[str, object]] = {}
    async for batch in payments.records_between(db, since, until):
        names = list(batch)
        for values in zip(*(batch[name] for name in names), strict=True):
            row = dict(zip(names, values, strict=True))
            rows[str(row["id"])] = row
    assert set(rows) == {"pay_t1", "pay_t2", "pay_t3", "rf_t1"}
    # a microsecond either side of Vietnam's midnight, whatever the server's time zone: the day the money moved
    assert rows["pay_t1"]["day"] == date(2026, 11, 30) and rows["pay_t2"]["day"] == date(2026, 12, 1)
    assert rows["pay_t3"]["day"] == date(2026, 11, 29)  # not moved: the day it was made
    assert rows["rf_t1"]["day"] == date(2026, 12, 1) and rows["rf_t1"]["kind"] == "refund"
    assert rows["rf_t1"]["reference"] == "PG2611300000000001" and rows["rf_t1"]["refund_reference"] == "RF0000000001"
    assert {row["agency"] for row in rows.values()} == {SPEC.code}
    assert rows["pay_t2"]["transaction_id"] == "HUB000000000002" and rows["pay_t3"]["transaction_id"] == ""
    # outside the window: nothing
    later = [batch async for batch in payments.records_between(db, until, until + timedelta(days=1))]
    assert sum(len(batch["id"]) for batch in later) == 0


async def test_a_read_cancelled_midway_gives_its_connection_back_closed(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run cancelled while it reads (a job's time-out, the worker stopping) cuts the read off: on PostgreSQL its
    COPY stops midway, and the connection, left inside the COPY, is closed at once rather than given back to the
    pool for the next request to find broken; the pool's next reads work."""
    agency_id = await portals.upsert_agency(db, SPEC)
    portal_id, _ = await portals.create_portal(db, "Cổng thử", [SPEC.code])
    async with db.transaction() as conn:
        await conn.execute(
            payments_table.insert(), [_payment(n, agency_id, portal_id, "paid", FIRST) for n in range(1, 3001)]
        )
    monkeypatch.setattr(reconciling, "COPY_CHUNK_BYTES", 2048)  # many chunks, so the COPY is still under way
    day = date(2026, 12, 1)  # FIRST's day in Vietnam
    spool, carry = RecordSpool(tmp_path / "ours"), ours.Carry(day, day - timedelta(days=1), frozenset(), day)
    used: list[object] = []
    first_batch = asyncio.Event()
    real_spool = ours._spool

    def spooling(*args: object) -> None:
        real_spool(*args)
        first_batch.set()
        time.sleep(0.3)  # the run is cancelled while it writes its first batch

    monkeypatch.setattr(ours, "_spool", spooling)
    sa.event.listen(db.engine.sync_engine, "checkout", lambda dbapi, record, proxy: used.append(dbapi))
    reading = asyncio.create_task(ours.spool_settlement_records(db, spool, carry, 60))
    await first_batch.wait()
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert used
    if db.dialect == "postgresql":
        assert used[0].driver_connection.is_closed(), "the connection cut off mid-COPY is closed"
    for _ in range(3):
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
