"""The janitor: asks the hub about payments pending too long, expires unpaid ones after a last query, and
re-sends refunds whose answer is still missing. Every answer goes through the callback's code path."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.payhub import HubRejected, HubUnavailable, Outcome, OutcomeUnknown, PayhubClient
from gateway.settings import Settings
from gateway.store import idempotency
from gateway.store.db import Database

from . import repository, transitions
from .refunds import RefundService
from .results import Disposition, HubResults
from .state import UNPAID, Event, Status

log = logging.getLogger("gateway.janitor")

# Answers after which an expired payment may be closed: the hub holds no payment for it.
CLOSABLE = frozenset({Outcome.NOT_PAID, Outcome.UNKNOWN_REFERENCE, Outcome.EXPIRED})


@dataclass
class JanitorReport:
    checked: int = 0
    applied: int = 0
    expired: int = 0
    unreachable: int = 0
    refunds_resent: int = 0
    keys_purged: int = 0
    errors: list[str] = field(default_factory=list)


async def run(
    results: HubResults, refunds: RefundService, hub: PayhubClient, settings: Settings, now: datetime
) -> JanitorReport:
    """One pass; every answer is applied through ``results`` (which announces payments found paid)."""
    db = results.db
    report = JanitorReport()
    stale = now - timedelta(seconds=settings.pending_query_after_seconds)
    async with db.read() as conn:
        due = await repository.due_for_check(conn, [s.value for s in UNPAID], now, stale, settings.janitor_batch)
    for payment in due:
        report.checked += 1
        try:
            result = await hub.query(payment.reference)
        except (HubUnavailable, OutcomeUnknown, HubRejected) as exc:
            report.unreachable += 1
            report.errors.append(f"{payment.reference}: {exc}")
            continue
        disposition = await results.apply(result, now)
        report.applied += disposition is Disposition.APPLIED
        if payment.expires_at <= now and result.outcome in CLOSABLE:
            report.expired += await _expire(db, payment.id, now)
        else:
            await _mark_checked(db, payment.id, now)
    for refund_id in await refunds.pending(stale, settings.janitor_batch):
        await refunds.send(refund_id)
        report.refunds_resent += 1
    report.keys_purged = await idempotency.purge(db, now - timedelta(seconds=settings.idempotency_ttl_seconds))
    if report.checked or report.refunds_resent:
        log.info("janitor pass", extra=vars(report))
    return report


async def _expire(db: Database, payment_id: str, now: datetime) -> int:
    async with db.unit() as uow:
        record = await repository.lock(uow.conn, payment_id=payment_id)
        if record is None or Status(record.status) not in UNPAID:
            return 0
        await transitions.move(uow, record, Event.EXPIRE, now, reason="expired_unpaid", values={"checked_at": now})
        return 1


async def _mark_checked(db: Database, payment_id: str, now: datetime) -> None:
    async with db.unit() as uow:
        await repository.mark_checked(uow.conn, payment_id, now)
