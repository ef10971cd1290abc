"""The janitor: asks the hub about payments pending too long, expires unpaid ones after a last query, and
re-sends refunds whose answer is still missing. Every answer goes through the callback's code path."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from adapters.payhub import HubRejected, HubUnavailable, Outcome, OutcomeUnknown, PayhubClient
from gateway.settings import Settings
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.tables import payments as pt

from . import transitions
from .refunds import RefundService
from .results import Disposition, HubResults
from .state import UNPAID, Event, Status
from .views import P

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


async def run(results: HubResults, hub: PayhubClient, settings: Settings, now: datetime) -> JanitorReport:
    """One pass; every answer is applied through ``results`` (which announces payments found paid)."""
    db = results.db
    report = JanitorReport()
    stale = now - timedelta(seconds=settings.pending_query_after_seconds)
    async with db.read() as conn:
        due = (
            await conn.execute(
                select(P.id, P.reference, P.expires_at)
                .where(
                    P.status.in_([s.value for s in UNPAID]),
                    or_(
                        P.expires_at <= now,
                        and_(P.created_at <= stale, or_(P.checked_at.is_(None), P.checked_at <= stale)),
                    ),
                )
                .order_by(P.checked_at.is_not(None), P.checked_at, P.created_at)
                .limit(settings.janitor_batch)
            )
        ).all()
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
    refunds = RefundService(db, hub)
    for refund_id in await refunds.pending(stale, settings.janitor_batch):
        await refunds.send(refund_id)
        report.refunds_resent += 1
    report.keys_purged = await idempotency.purge(db, now - timedelta(seconds=settings.idempotency_ttl_seconds))
    if report.checked or report.refunds_resent:
        log.info("janitor pass", extra=vars(report))
    return report


async def _expire(db: Database, payment_id: str, now: datetime) -> int:
    async with db.transaction() as tx:
        record = await transitions.lock(tx, payment_id=payment_id)
        if record is None or Status(record.row.status) not in UNPAID:
            return 0
        moved = await transitions.move(
            tx, record, Event.EXPIRE, now, reason="expired_unpaid", values={"checked_at": now}
        )
        return int(moved is not None)


async def _mark_checked(db: Database, payment_id: str, now: datetime) -> None:
    async with db.transaction() as tx:
        await tx.execute(update(pt.payments).where(P.id == payment_id).values(checked_at=now))
