"""Receipt jobs that run at once are issued together, and each still gets its own answer: its receipt, None for a
payment not collected, the same receipt for a job queued twice; numbers stay consecutive whatever the batches."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.collected import PAYMENT
from gateway.payments import PaymentCollections
from gateway.receipts import AgencyKeys, ReceiptIssuer
from gateway.receipts.repository import original_of
from gateway.settings import Settings
from gateway.shipments import CodCollections
from gateway.store.db import Database
from gateway.store.tables.receipts import receipts
from receipts import SigningKey
from tests.support.collected_money import T0, agency_and_portal, paid_payment
from tests.support.stack import AGENCY

SETTINGS = Settings(payhub_hash_key="x", receipt_batch=8)


class Counted(Database):
    """The database, counting the write transactions begun."""

    writes = 0

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        self.writes += 1
        return super().transaction()


def issuer(db: Database, key: SigningKey) -> ReceiptIssuer:
    return ReceiptIssuer(db, AgencyKeys({AGENCY.code: key}), SETTINGS, (PaymentCollections(), CodCollections()))


async def test_jobs_running_at_once_each_get_their_own_answer(db: Database, signing_key: SigningKey) -> None:
    agency_id, portal_id = await agency_and_portal(db)
    paid = [await paid_payment(db, portal_id, agency_id) for _ in range(20)]
    unpaid = await paid_payment(db, portal_id, agency_id, status="pending")
    jobs = [*paid, unpaid, paid[0], paid[5]]  # two jobs queued twice
    counted = Counted(db.engine)
    receipts_issuer = issuer(counted, signing_key)

    answers = await asyncio.gather(*(receipts_issuer.issue(PAYMENT, payment_id, T0) for payment_id in jobs))

    assert counted.writes <= 3, f"{len(paid)} receipts in {counted.writes} transactions: not issued together"

    by_job = dict(zip(jobs, answers, strict=False))
    assert answers[len(paid)] is None, "nothing collected, no receipt"
    assert answers[-2] == answers[0] and answers[-1] == answers[5], "a job queued twice gets the same receipt"
    async with db.read() as conn:
        stored = [await original_of(conn, PAYMENT, payment_id) for payment_id in paid]
        count = (await conn.execute(select(func.count()).select_from(receipts))).scalar_one()
    assert count == len(paid)
    assert [r.id if r else None for r in stored] == [by_job[payment_id] for payment_id in paid]
    assert sorted(r.number for r in stored if r) == list(range(1, len(paid) + 1)), "a gap or a repeat"


async def test_a_job_that_gives_up_waiting_leaves_the_others_their_receipts(
    db: Database, signing_key: SigningKey
) -> None:
    agency_id, portal_id = await agency_and_portal(db)
    paid = [await paid_payment(db, portal_id, agency_id) for _ in range(6)]
    receipts_issuer = issuer(db, signing_key)

    jobs = [asyncio.create_task(receipts_issuer.issue(PAYMENT, payment_id, T0)) for payment_id in paid]
    await asyncio.sleep(0)  # every job is waiting in the gathering
    jobs[3].cancel()  # its timeout, say
    answers = await asyncio.gather(*jobs, return_exceptions=True)

    assert isinstance(answers[3], asyncio.CancelledError)
    assert all(isinstance(answer, str) for i, answer in enumerate(answers) if i != 3)
    assert await receipts_issuer.issue(PAYMENT, paid[3], T0) is not None  # its retry finds or issues it
    async with db.read() as conn:
        numbers = sorted((await conn.execute(select(receipts.c.number))).scalars())
    assert numbers == list(range(1, len(paid) + 1))
