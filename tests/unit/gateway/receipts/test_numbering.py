"""Receipt numbers: consecutive from 1 per series and year, with no gap and no repeat under concurrent issuers
(taking their numbers at once, or after signing if nobody took them meanwhile), aborted transactions and a process
killed between allocation and commit."""

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
from gateway.receipts.numbering import SeriesExhausted, allocate, last_taken, series_for, take_after
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


# As many issuers at once as a worker runs jobs: enough to queue on the series' lock, within the pool's connections
# (more would wait for a connection rather than for the lock, and time out on a loaded machine).
CONCURRENT = 20


async def test_concurrent_issuers_get_every_number_once(db: Database) -> None:
    total = 1000 if db.dialect == "postgresql" else 200
    committed: list[int] = []
    slots = asyncio.Semaphore(CONCURRENT)

    async def issuer(i: int) -> None:
        async with slots:
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


async def test_issuers_signing_outside_the_lock_get_every_number_once(db: Database) -> None:
    """Each reads the last number, "signs" (yields), then takes the numbers after it only if nobody took them
    meanwhile, else starts again; some roll back after taking. Batches of 1 to 3 numbers."""
    total = 300 if db.dialect == "postgresql" else 100
    committed: list[int] = []
    races = 0
    slots = asyncio.Semaphore(CONCURRENT)

    async def issuer(i: int) -> None:
        nonlocal races
        count = 1 + i % 3
        async with slots:
            while True:
                async with db.read() as conn:
                    last = await last_taken(conn, TAX, "EBL01", "26T")
                await asyncio.sleep(0)  # signing, while the others take numbers
                try:
                    async with db.transaction() as tx:
                        if not await take_after(tx, TAX, "EBL01", "26T", last, count):
                            races += 1
                            continue
                        await asyncio.sleep(0)
                        if i % 7 == 3:
                            raise Abort
                    committed.extend(range(last + 1, last + count + 1))
                except Abort:
                    pass
                return

    await asyncio.gather(*(issuer(i) for i in range(total)))
    expected = sum(1 + i % 3 for i in range(total) if i % 7 != 3)
    assert sorted(committed) == list(range(1, expected + 1)), "a gap or a repeat"
    assert await last_number(db) == expected
    assert races > 0, "the issuers never overlapped: nothing was tested"


async def test_taking_numbers_fails_once_another_issuer_took_them(db: Database) -> None:
    async with db.transaction() as tx:
        assert await take_after(tx, TAX, "EBL01", "26T", 0, 2)  # the series is made with 1 and 2 taken
    async with db.transaction() as tx:
        assert not await take_after(tx, TAX, "EBL01", "26T", 0, 1), "the series was made already"
        assert not await take_after(tx, TAX, "EBL01", "26T", 1, 1), "2 was taken"
        assert await take_after(tx, TAX, "EBL01", "26T", 2, 3)
    async with db.read() as conn:
        assert await last_taken(conn, TAX, "EBL01", "26T") == 5
        assert await last_taken(conn, TAX, "EBL02", "26T") == 0
    with pytest.raises(SeriesExhausted):
        async with db.transaction() as tx:
            await take_after(tx, TAX, "EBL01", "26T", MAX_NUMBER - 1, 2)
    assert await last_number(db) == 5


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
