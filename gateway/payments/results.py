"""Applying the hub's word about a payment: the one code path for callbacks and for query answers."""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from adapters.payhub import HubResult, Outcome, Reply
from gateway.kernel.collected import PAYMENT, OnCollected, ignore
from gateway.store.db import Database
from gateway.store.uow import UnitOfWork

from . import repository, transitions
from .records import Payment
from .state import UNPAID_FINAL, Event, Status, decide_hub_result, hub_reason

log = logging.getLogger("gateway.payments")

# How many times a hub result reads its payment when other changes move the payment in between: an uncollected
# payment moves at most four times (created, pending, expired, cancelled, paid), so the fifth reading stands.
MAX_READINGS = 5


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
        """Apply ``result`` in a checked unit (``Database.checked_unit``): read the payment, decide, and write the
        move, its ledger rows, its event and the audit row in one statement, which applies only if the payment's
        status is still the one read. That status is all the decision and the move depend on that can change: the
        hub's word moves only a payment that was never collected, and such a payment's columns change only when its
        status does (its amount, lines and agency never; its checkout page, reason and times with a move), but for
        when it was last asked about (``checked_at``), which the move sets anew; and the kept change checks the
        time of the last move with the status. A payment moved meanwhile (another callback, a query's answer, the
        janitor, a cancellation) is read again and decided anew, as a lock would have had it wait; one that keeps
        moving past ``MAX_READINGS`` is answered as a busy database (the hub is told to retry)."""

        async def decide_and_write(uow: UnitOfWork) -> tuple[Disposition, str | None]:
            disposition, payment_id = await apply_in(uow, result, now)
            repository.record_hub_result(uow, _result_row(result, disposition, now))
            return disposition, payment_id

        what = f"payment {result.reference}"
        disposition, payment_id = await self.db.checked(decide_and_write, readings=MAX_READINGS, what=what)
        log.info(
            "hub result",
            extra={
                "reference": result.reference,
                "outcome": result.outcome.value,
                "source": result.source,
                "disposition": disposition.value,
            },
        )
        if disposition is Disposition.APPLIED and result.outcome is Outcome.PAID and payment_id is not None:
            await self.on_collected(PAYMENT, payment_id)  # after commit: the receipt's fast path
        return disposition


def _result_row(result: HubResult, disposition: Disposition, now: datetime) -> dict[str, object]:
    return {
        "reference": result.reference[:20],
        "source": result.source,
        "raw_code": result.raw_code[:8],
        "outcome": result.outcome.value,
        "amount": result.amount,
        "transaction_id": result.transaction_id[:64],
        "disposition": disposition.value,
        "received_at": now,
    }


async def apply_in(uow: UnitOfWork, result: HubResult, now: datetime) -> tuple[Disposition, str | None]:
    """Apply ``result`` in ``uow``; the disposition, and the payment's id when there is one."""
    record = await repository.for_change(uow, result.reference)
    if record is None:
        return Disposition.UNKNOWN_REFERENCE, None
    return await _decide(uow, record, result, now), record.id


async def _decide(uow: UnitOfWork, record: Payment, result: HubResult, now: datetime) -> Disposition:
    if result.amount is not None and result.outcome is not Outcome.REFUNDED and result.amount != record.amount:
        extra = {"reference": record.reference, "ours": record.amount, "hub": result.amount}
        log.warning("hub amount differs", extra=extra)
        return Disposition.AMOUNT_MISMATCH
    status = Status(record.status)
    decision = decide_hub_result(status, result.outcome)
    if not decision.changes:
        if (
            result.outcome is Outcome.PAID
            and record.hub_transaction_id
            and result.transaction_id
            and result.transaction_id != record.hub_transaction_id
        ):
            log.warning("second hub transaction for a paid payment", extra={"reference": record.reference})
            return Disposition.OTHER_TRANSACTION
        return Disposition.DUPLICATE
    assert decision.event is not None
    values: dict[str, object] = {"checked_at": now}
    reason = hub_reason(result.outcome)
    if decision.event is Event.HUB_PAID:
        values.update(
            paid_amount=record.amount,
            paid_at=result.occurred_at or now,
            hub_transaction_id=result.transaction_id or None,
            bank_code=result.bank_code[:16],
        )
        reason = f"late_after_{status.value}" if status in UNPAID_FINAL else ""
    await transitions.move(uow, record, decision.event, now, reason=reason, values=values)
    if decision.event is Event.HUB_PAID:
        entries = transitions.ledger_entries(
            group=f"collection:{record.id}",
            payment_id=record.id,
            agency_code=record.agency_code,
            amount=record.amount,
            now=now,
        )
        repository.post_ledger(uow, entries)
    return Disposition.APPLIED
