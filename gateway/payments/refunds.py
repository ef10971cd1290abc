"""Refunds, full or partial, through the hub; never more than was paid, counting refunds still in flight."""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.payhub import HubRejected, HubUnavailable, OutcomeUnknown, PayhubClient, RefundOrder
from adapters.payhub.codes import REFUND_DONE
from adapters.vntime import now_utc
from gateway.ids import new_id, new_refund_reference
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database
from gateway.store.tables import payments as pt

from . import transitions, views
from .schemas import CreateRefund
from .state import REFUNDABLE, Status, refund_event

log = logging.getLogger("gateway.refunds")
R = pt.refunds.c


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not yet answered by the hub
    PROCESSING = "processing"  # accepted by the hub, not done yet
    UNKNOWN = "unknown"  # sent, no answer: the janitor asks again with the same reference
    SUCCEEDED = "succeeded"
    FAILED = "failed"


IN_FLIGHT = (RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.UNKNOWN)


class RefundService:
    def __init__(self, db: Database, hub: PayhubClient) -> None:
        self.db = db
        self.hub = hub

    async def request(
        self, portal: PortalContext, attempt: Attempt, payment_id: str, data: CreateRefund
    ) -> tuple[Any, RefundStatus]:
        """Store the refund and send it; a retry of the same attempt resumes the refund stored."""
        refund_id = attempt.resume_id or await self._store(portal, attempt, payment_id, data)
        status = await self.send(refund_id)
        async with self.db.read() as conn:
            row = (await conn.execute(select(pt.refunds).where(R.id == refund_id))).one()
        if status is RefundStatus.UNKNOWN:
            raise Refused("hub_unavailable", retry_after=5, extra={"refund_id": refund_id})
        if status is RefundStatus.FAILED:
            raise Refused(
                "hub_rejected",
                f"the hub refused the refund ({row.hub_code})",
                extra={"refund_id": refund_id, "hub_code": row.hub_code},
                settled=True,
            )
        return row, status

    async def _store(self, portal: PortalContext, attempt: Attempt, payment_id: str, data: CreateRefund) -> str:
        now = now_utc()
        async with self.db.unit() as uow:
            tx = uow.conn
            record = await transitions.lock(tx, payment_id=payment_id)
            if record is None or record.row.portal_id != portal.portal_id:
                raise Refused("not_found")
            if Status(record.row.status) not in REFUNDABLE:
                raise Refused("payment_not_refundable", f"the payment is {record.row.status}")
            available = record.row.paid_amount - record.row.refunded_amount - await _in_flight(tx, payment_id)
            if data.amount > available:
                raise Refused("refund_exceeds_balance", f"at most {available} đồng can be refunded", field="amount")
            refund_id = new_id("rfd")
            await tx.execute(
                pt.refunds.insert().values(
                    id=refund_id,
                    payment_id=payment_id,
                    reference=new_refund_reference(),
                    amount=data.amount,
                    reason=data.reason,
                    status=RefundStatus.PENDING.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            await uow.bind(attempt, refund_id)
        return refund_id

    async def send(self, refund_id: str) -> RefundStatus:
        """Send (or send again: the hub answers a repeated reference with its first decision) and record the answer."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(
                        pt.refunds, pt.payments.c.reference.label("payment_reference"), pt.payments.c.hub_transaction_id
                    )
                    .join(pt.payments, pt.payments.c.id == R.payment_id)
                    .where(R.id == refund_id)
                )
            ).one()
        if RefundStatus(row.status) in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            return RefundStatus(row.status)
        order = RefundOrder(
            reference=row.payment_reference,
            transaction_id=row.hub_transaction_id or "",
            refund_reference=row.reference,
            amount=row.amount,
            reason=row.reason,
            sent_at=now_utc(),
        )
        try:
            reply = await self.hub.refund(order)
        except HubRejected as exc:
            return await self._finish(refund_id, RefundStatus.FAILED, exc.code)
        except (HubUnavailable, OutcomeUnknown) as exc:
            log.warning("refund outcome unknown", extra={"refund_id": refund_id, "error": str(exc)})
            return await self._finish(refund_id, RefundStatus.UNKNOWN, "")
        done = reply.TrangThai == REFUND_DONE
        return await self._finish(refund_id, RefundStatus.SUCCEEDED if done else RefundStatus.PROCESSING, reply.MaLoi)

    async def _finish(self, refund_id: str, status: RefundStatus, hub_code: str) -> RefundStatus:
        now = now_utc()
        async with self.db.transaction() as tx:
            row = (await tx.execute(select(pt.refunds).where(R.id == refund_id))).one()
            if RefundStatus(row.status) in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
                return RefundStatus(row.status)
            final = status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
            moved = await tx.execute(
                update(pt.refunds)
                .where(R.id == refund_id, R.status == row.status)
                .values(status=status.value, hub_code=hub_code, updated_at=now, completed_at=now if final else None)
            )
            if moved.rowcount != 1:  # pragma: no cover - serialised by the transaction
                return RefundStatus(row.status)
            if status is RefundStatus.SUCCEEDED:
                await _settle(tx, row.payment_id, refund_id, row.amount, now)
            elif status is RefundStatus.FAILED:
                record = await views.load(tx, row.payment_id)
                assert record is not None
                await transitions.announce(tx, record, "refund.failed", now)
        return status

    async def pending(self, older_than: datetime, limit: int) -> list[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(R.id)
                .where(R.status.in_([s.value for s in IN_FLIGHT]), R.updated_at < older_than)
                .order_by(R.updated_at)
                .limit(limit)
            )
            return list(rows.scalars())


async def _in_flight(tx: AsyncConnection, payment_id: str) -> int:
    total = await tx.execute(
        select(func.coalesce(func.sum(R.amount), 0)).where(
            R.payment_id == payment_id, R.status.in_([s.value for s in IN_FLIGHT])
        )
    )
    return int(total.scalar_one())


async def _settle(tx: AsyncConnection, payment_id: str, refund_id: str, amount: int, now: datetime) -> None:
    record = await transitions.lock(tx, payment_id=payment_id)
    assert record is not None
    refunded = record.row.refunded_amount + amount
    event = refund_event(record.row.paid_amount, refunded)
    moved = await transitions.move(tx, record, event, now, values={"refunded_amount": refunded})
    assert moved is not None
    await transitions.post_ledger(
        tx,
        group=f"refund:{refund_id}",
        payment_id=payment_id,
        agency_code=record.agency_code,
        amount=amount,
        now=now,
        refund_id=refund_id,
    )
    await transitions.announce(tx, moved, "refund.succeeded", now)
