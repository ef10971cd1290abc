"""Receipt numbers: consecutive from 1 per series and year, with no gap and no repeat under concurrent issuers,
aborted transactions and a process killed between allocation and commit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.vntime import VN_TZ
from gateway.receipts.numbering import SeriesExhausted, allocate, series_for
from gateway.store.db import Database
from gateway.store.tables.receipts import receipt_series
from receipts.codes import MAX_NUMBER

ROOT = Path(__file__).resolve().parents[4]
TAX = "0101234567"


class Abort(Exception):
    """Raised after allocating, to roll the transaction back as a failed signature or a lost race would."""


async def last_number(db: Database, series: str = "26T") -> int | None:
    async with db.read() as conn:
        query = select(receipt_series.c.last_number).where(
            receipt_series.c.tax_code == TAX, receipt_series.c.template == "EBL01", receipt_series.c.series == series
        )
        return (await conn.execute(query)).scalar()


async def test_concurrent_issuers_get_every_number_once(db: Database) -> None:
    total = 1000 if db.dialect == "postgresql" else 200
    committed: list[int] = []

    async def issuer(i: int) -> None:
        try:
            async with db.transaction() as tx:
                number = await allocate(tx, TAX, "EBL01", "26T")
                await asyncio.sleep(0)  # let the others queue on the lock while this one holds it
                if i % 7 == 3:
                    raise Abort
            committed.append(number)
        except Abort:
            pass

    await asyncio.gather(*(issuer(i) for i in range(total)))
    aborted = len([i for i in range(total) if i % 7 == 3])
    assert len(committed) == total - aborted
    assert sorted(committed) == list(range(1, total - aborted + 1)), "a gap or a repeat"
    assert await last_number(db) == total - aborted


async def test_a_batch_takes_consecutive_numbers(db: Database) -> None:
    async with db.transaction() as tx:
        assert await allocate(tx, TAX, "EBL01", "26T") == 1
        assert await allocate(tx, TAX, "EBL01", "26T", 5) == 2
        assert await allocate(tx, TAX, "EBL02", "26T") == 1  # each template counts apart
        assert await allocate(tx, "0101234568", "EBL01", "26T") == 1  # and each agency
    assert await last_number(db) == 6


async def test_the_year_changes_the_series_in_vietnam_time(db: Database) -> None:
    last_evening = datetime(2026, 12, 31, 23, 59, 59, tzinfo=VN_TZ)
    new_year = datetime(2026, 12, 31, 17, 0, 0, tzinfo=UTC)  # 00:00 on 1 January 2027 in Vietnam
    assert series_for(last_evening) == "26T" and series_for(new_year) == "27T"
    async with db.transaction() as tx:
        for _ in range(3):
            await allocate(tx, TAX, "EBL01", series_for(last_evening))
        assert await allocate(tx, TAX, "EBL01", series_for(new_year)) == 1
    assert await last_number(db, "26T") == 3 and await last_number(db, "27T") == 1


async def test_the_eight_digit_number_is_refused_and_nothing_taken(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            receipt_series.insert().values(tax_code=TAX, template="EBL01", series="26T", last_number=MAX_NUMBER)
        )
    with pytest.raises(SeriesExhausted):
        async with db.transaction() as tx:
            await allocate(tx, TAX, "EBL01", "26T")
    assert await last_number(db) == MAX_NUMBER


HOLDER = """
import asyncio, sys, time
from gateway.store.db import Database
from gateway.receipts.numbering import allocate

async def main():
    db = Database.from_url(sys.argv[1])
    async with db.transaction() as tx:
        number = await allocate(tx, "0101234567", "EBL01", "26T")
        print(number, flush=True)
        await asyncio.sleep(600)  # killed here: allocated, never committed

asyncio.run(main())
"""


async def test_a_process_killed_after_allocating_leaves_no_gap(db: Database, database_url: str) -> None:
    async with db.transaction() as tx:
        assert await allocate(tx, TAX, "EBL01", "26T") == 1
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.to_thread(holder.stdout.readline)
        assert line.strip() == b"2", "the holder allocated the next number inside its open transaction"
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=15)
    async with db.transaction() as tx:
        assert await allocate(tx, TAX, "EBL01", "26T") == 2, "the killed transaction's number is given again"
