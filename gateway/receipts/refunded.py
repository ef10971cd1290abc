"""What a refund does to the receipt of a payment, done by the worker's sweeper through the correction code.

A receipt states the money collected, and is never edited:

- refunded in full, it is cancelled ("Khoản thu đã được hoàn trả toàn bộ");
- refunded in part, it is replaced (TTBLLQuan, TCBLai 1) by a receipt for the amount kept, the refund taken off the
  last lines first; the original is cancelled ("Khoản thu đã được hoàn trả một phần"). Each later partial refund
  replaces the receipt in force again.

A replacement that cannot be signed (the agency's key is missing) is held in ``unissued`` with its back-off, like
an original receipt, so it never holds back the others.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.kernel.collected import PAYMENT
from gateway.payments.state import Status
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.tables import payments as pt
from gateway.store.tables.receipts import receipts
from receipts import ReceiptError

from . import unissued, views
from .corrections import announce, kept_lines, mark_cancelled, reissue
from .issuance import CannotIssue
from .keys import AgencyKeys
from .unissued import Unissued, not_held

R = receipts.c
P = pt.payments.c
REFUNDED_REASON = "Khoản thu đã được hoàn trả toàn bộ"
PARTLY_REFUNDED_REASON = "Khoản thu đã được hoàn trả một phần"


async def cancel_refunded(db: Database, limit: int, now: datetime | None = None) -> int:
    """Cancel the live receipts of payments refunded in full; returns how many were cancelled."""
    moment = now or now_utc()
    async with db.read() as conn:
        due = (
            await conn.execute(
                select(R.id, R.portal_id)
                .join(pt.payments, P.id == R.source_id)
                .where(R.source_type == PAYMENT, R.status == views.ISSUED, P.status == Status.REFUNDED.value)
                .limit(limit)
            )
        ).all()
    done = 0
    for receipt in due:
        async with db.transaction() as tx:
            row = await views.lock(tx, receipt.id, receipt.portal_id)
            if row is not None and row.status == views.ISSUED:
                await announce(tx, await mark_cancelled(tx, row, REFUNDED_REASON, moment), "receipt.cancelled", moment)
                done += 1
    return done


async def replace_partly_refunded(
    db: Database, keys: AgencyKeys, settings: Settings, limit: int, now: datetime | None = None
) -> int:
    """Replace the live receipts that state more than their payment kept after partial refunds; returns how many."""
    moment = now or now_utc()
    async with db.read() as conn:
        due = (
            await conn.execute(
                select(R.id, R.portal_id, R.agency_id, R.dossier_code, R.source_id)
                .join(pt.payments, P.id == R.source_id)
                .where(
                    R.source_type == PAYMENT,
                    R.status == views.ISSUED,
                    P.status == Status.PARTIALLY_REFUNDED.value,
                    R.total > P.paid_amount - P.refunded_amount,
                    not_held(PAYMENT, P.id, moment),
                )
                .order_by(R.issued_at, R.id)
                .limit(limit)
            )
        ).all()
    done = 0
    failed: list[Unissued] = []
    for receipt in due:
        try:
            async with db.transaction() as tx:
                done += await _replace_one(tx, receipt.id, receipt.portal_id, keys, settings, moment)
        except (CannotIssue, ReceiptError) as error:
            reason = f"replacement after a partial refund: {error}"
            failed.append(
                Unissued(PAYMENT, receipt.source_id, receipt.portal_id, receipt.agency_id, receipt.dossier_code, reason)
            )
    await unissued.hold(db, failed, moment, settings.receipt_retry_seconds, settings.receipt_retry_max_seconds)
    return done


async def _replace_one(
    tx: AsyncConnection, receipt_id: str, portal_id: str, keys: AgencyKeys, settings: Settings, now: datetime
) -> int:
    """Replace one receipt by one for the amount kept, unless something changed since it was found."""
    row = await views.lock(tx, receipt_id, portal_id)
    if row is None or row.status != views.ISSUED:
        return 0
    payment = (await tx.execute(select(P.status, P.paid_amount, P.refunded_amount).where(P.id == row.source_id))).one()
    kept = payment.paid_amount - payment.refunded_amount
    if payment.status != Status.PARTIALLY_REFUNDED.value or not 0 < kept < row.total:
        return 0
    before = views.data_of(row)
    lines = kept_lines(list(before.lines), kept)
    await reissue(tx, row, before.payer, lines, PARTLY_REFUNDED_REASON, keys, settings, now)
    await unissued.release(tx, PAYMENT, [row.source_id])
    return 1
