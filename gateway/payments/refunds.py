"""Refunds, full or partial, through the hub; never more than was paid, counting refunds still in flight."""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from adapters.payhub import HubRejected, HubUnavailable, OutcomeUnknown, PayhubClient, RefundOrder
from adapters.vntime import now_utc
from gateway.ids import new_id, new_refund_reference
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database
from gateway.store.uow import UnitOfWork

from . import repository, transitions
from .records import Refund
from .references import stored_with_a_fresh_reference
from .schemas import CreateRefund
from .state import REFUNDABLE, Status, refund_event

log = logging.getLogger("gateway.refunds")


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not yet answered by the hub
    PROCESSING = "processing"  # accepted by the hub, not done yet
    UNKNOWN = "unknown"  # sent, no answer: the janitor asks again with the same reference
    SUCCEEDED = "succeeded"
    FAILED = "failed"


IN_FLIGHT = (RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.UNKNOWN)
IN_FLIGHT_VALUES = [s.value for s in IN_FLIGHT]
FINAL = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)


class RefundService:
    def __init__(self, db: Database, hub: PayhubClient) -> None:
        self.db = db
        self.hub = hub
        self.references = new_refund_reference  # where refund references are drawn (random: tests draw their own)

    async def request(
        self, portal: PortalContext, attempt: Attempt, payment_id: str, data: CreateRefund
    ) -> tuple[Refund, RefundStatus]:
        """Store the refund and send it; a retry of the same attempt resumes the refund stored."""
        refund_id = attempt.resume_id or await self._store(portal, attempt, payment_id, data)
        status = await self.send(refund_id)
        async with self.db.read() as conn:
            found = await repository.refund(conn, refund_id)
        if status is RefundStatus.UNKNOWN:
            raise Refused("hub_unavailable", retry_after=5, extra={"refund_id": refund_id})
        if status is RefundStatus.FAILED:
            raise Refused(
                "hub_rejected",
                f"the hub refused the refund ({found.hub_code})",
                extra={"refund_id": refund_id, "hub_code": found.hub_code},
                settled=True,
            )
        return found, status

    async def _store(self, portal: PortalContext, attempt: Attempt, payment_id: str, data: CreateRefund) -> str:
        return await stored_with_a_fresh_reference(lambda: self._stored(portal, attempt, payment_id, data), "refunds")

    async def _stored(self, portal: PortalContext, attempt: Attempt, payment_id: str, data: CreateRefund) -> str:
        now = now_utc()
        async with self.db.unit() as uow:
            record = await repository.lock(uow.conn, payment_id=payment_id)
            if record is None or record.portal_id != portal.portal_id:
                raise Refused("not_found")
            if Status(record.status) not in REFUNDABLE:
                raise Refused("payment_not_refundable", f"the payment is {record.status}")
            in_flight = await repository.refunds_in_flight(uow.conn, payment_id, IN_FLIGHT_VALUES)
            available = record.paid_amount - record.refunded_amount - in_flight
            if data.amount > available:
                raise Refused("refund_exceeds_balance", f"at most {available} đồng can be refunded", field="amount")
            refund_id = new_id("rfd")
            await repository.insert_refund(
                uow.conn,
                {
                    "id": refund_id,
                    "payment_id": payment_id,
                    "reference": self.references(),
                    "amount": data.amount,
                    "reason": data.reason,
                    "status": RefundStatus.PENDING.value,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            await uow.bind(attempt, refund_id)
        return refund_id

    async def send(self, refund_id: str) -> RefundStatus:
        """Send (or send again: the hub answers a repeated reference with its first decision) and record the answer."""
        async with self.db.read() as conn:
            found, payment_reference, transaction_id = await repository.refund_to_send(conn, refund_id)
        if RefundStatus(found.status) in FINAL:
            return RefundStatus(found.status)
        order = RefundOrder(
            reference=payment_reference,
            transaction_id=transaction_id,
            refund_reference=found.reference,
            amount=found.amount,
            reason=found.reason,
            sent_at=now_utc(),
        )
        try:
            reply = await self.hub.refund(order)
        except HubRejected as exc:
            return await self._finish(refund_id, RefundStatus.FAILED, exc.code)
        except (HubUnavailable, OutcomeUnknown) as exc:
            log.warning("refund outcome unknown", extra={"refund_id": refund_id, "error": str(exc)})
            return await self._finish(refund_id, RefundStatus.UNKNOWN, "")
        status = RefundStatus.SUCCEEDED if reply.done else RefundStatus.PROCESSING
        return await self._finish(refund_id, status, reply.code)

    async def _finish(self, refund_id: str, status: RefundStatus, hub_code: str) -> RefundStatus:
        now = now_utc()
        async with self.db.unit() as uow:
            found = await repository.refund(uow.conn, refund_id)
            if RefundStatus(found.status) in FINAL:
                return RefundStatus(found.status)
            values = {"status": status.value, "hub_code": hub_code, "updated_at": now}
            values["completed_at"] = now if status in FINAL else None
            if not await repository.change_refund(uow.conn, refund_id, found.status, values):  # pragma: no cover
                return RefundStatus(found.status)  # serialised by the transaction
            if status is RefundStatus.SUCCEEDED:
                await _settle(uow, found, now)
            elif status is RefundStatus.FAILED:
                record = await repository.load(uow.conn, found.payment_id)
                assert record is not None
                await transitions.announce(uow, record, "refund.failed", now)
        return status

    async def pending(self, older_than: datetime, limit: int) -> list[str]:
        async with self.db.read() as conn:
            return await repository.refunds_waiting(conn, IN_FLIGHT_VALUES, older_than, limit)


async def _settle(uow: UnitOfWork, found: Refund, now: datetime) -> None:
    record = await repository.lock(uow.conn, payment_id=found.payment_id)
    assert record is not None
    refunded = record.refunded_amount + found.amount
    event = refund_event(record.paid_amount, refunded)
    moved = await transitions.move(uow, record, event, now, values={"refunded_amount": refunded})
    entries = transitions.ledger_entries(
        group=f"refund:{found.id}",
        payment_id=found.payment_id,
        agency_code=record.agency_code,
        amount=found.amount,
        now=now,
        refund_id=found.id,
    )
    repository.post_ledger(uow, entries)
    await transitions.announce(uow, moved, "refund.succeeded", now)
