"""Applying the hub's word about a payment: the one code path for callbacks and for query answers."""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.payhub import HubResult, Outcome, Reply
from gateway.kernel.collected import PAYMENT, OnCollected, ignore
from gateway.store.db import Database, DatabaseUnavailable
from gateway.store.tables import payments as pt

from . import transitions
from .state import UNPAID_FINAL, Event, Status, decide_hub_result

log = logging.getLogger("gateway.payments")
P = pt.payments.c


class Disposition(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already recorded, or nothing to change
    UNKNOWN_REFERENCE = "unknown_reference"
    AMOUNT_MISMATCH = "amount_mismatch"
    OTHER_TRANSACTION = "other_transaction"  # paid again with another hub transaction: for reconciliation


REPLY_OF: dict[Disposition, Reply] = {
    Disposition.APPLIED: Reply.OK,
    Disposition.DUPLICATE: Reply.OK,
    Disposition.OTHER_TRANSACTION: Reply.OK,
    Disposition.UNKNOWN_REFERENCE: Reply.UNKNOWN_REFERENCE,
    Disposition.AMOUNT_MISMATCH: Reply.AMOUNT_MISMATCH,
}


class HubResults:
    """The hub's word applied through the one code path, and money collected announced after it committed."""

    def __init__(self, db: Database, on_collected: OnCollected = ignore) -> None:
        self.db = db
        self.on_collected = on_collected

    async def apply(self, result: HubResult, now: datetime) -> Disposition:
        disposition = await apply(self.db, result, now)
        if disposition is Disposition.APPLIED and result.outcome is Outcome.PAID:
            await self._collected(result.reference)
        return disposition

    async def _collected(self, reference: str) -> None:
        """Announce the payment now paid (the receipt's fast path); never raises."""
        try:
            async with self.db.read() as conn:
                found = (await conn.execute(select(P.id).where(P.reference == reference))).scalar_one_or_none()
        except DatabaseUnavailable as error:
            log.warning("collection not announced; the receipt sweeper will find it", extra={"error": str(error)})
            return
        if found is not None:
            await self.on_collected(PAYMENT, found)


async def apply(db: Database, result: HubResult, now: datetime) -> Disposition:
    async with db.transaction() as tx:
        disposition = await apply_in(tx, result, now)
        await tx.execute(
            pt.hub_results.insert().values(
                reference=result.reference[:20],
                source=result.source,
                raw_code=result.raw_code[:8],
                outcome=result.outcome.value,
                amount=result.amount,
                transaction_id=result.transaction_id[:64],
                disposition=disposition.value,
                received_at=now,
            )
        )
    log.info(
        "hub result",
        extra={
            "reference": result.reference,
            "outcome": result.outcome.value,
            "source": result.source,
            "disposition": disposition.value,
        },
    )
    return disposition


async def apply_in(tx: AsyncConnection, result: HubResult, now: datetime) -> Disposition:
    record = await transitions.lock(tx, reference=result.reference)
    if record is None:
        return Disposition.UNKNOWN_REFERENCE
    row = record.row
    if result.amount is not None and result.outcome is not Outcome.REFUNDED and result.amount != row.amount:
        log.warning("hub amount differs", extra={"reference": row.reference, "ours": row.amount, "hub": result.amount})
        return Disposition.AMOUNT_MISMATCH
    status = Status(row.status)
    decision = decide_hub_result(status, result.outcome)
    if not decision.changes:
        if (
            result.outcome is Outcome.PAID
            and row.hub_transaction_id
            and result.transaction_id
            and result.transaction_id != row.hub_transaction_id
        ):
            log.warning("second hub transaction for a paid payment", extra={"reference": row.reference})
            return Disposition.OTHER_TRANSACTION
        return Disposition.DUPLICATE
    assert decision.event is not None
    values: dict[str, object] = {"checked_at": now}
    reason = f"hub_{result.outcome.value}"
    if decision.event is Event.HUB_PAID:
        values.update(
            paid_amount=row.amount,
            paid_at=result.occurred_at or now,
            hub_transaction_id=result.transaction_id or None,
            bank_code=result.bank_code[:16],
        )
        reason = f"late_after_{status.value}" if status in UNPAID_FINAL else ""
    moved = await transitions.move(tx, record, decision.event, now, reason=reason, values=values)
    if moved is None:  # pragma: no cover - the row lock makes this unreachable
        return Disposition.DUPLICATE
    if decision.event is Event.HUB_PAID:
        await transitions.post_ledger(
            tx,
            group=f"collection:{row.id}",
            payment_id=row.id,
            agency_code=record.agency_code,
            amount=row.amount,
            now=now,
        )
    return Disposition.APPLIED
