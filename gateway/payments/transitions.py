"""Moving a payment from one status to the next, with its outbox event, inside the caller's transaction.

The update is conditional on the status we read, so two writers can never both move the same payment: the one
that loses sees ``None`` and re-reads. This is the only place a payment's status is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import dialect, outbox
from gateway.store.tables import payments as pt

from . import views
from .state import Event, Status, next_status
from .views import P, PaymentRecord


async def lock(
    tx: AsyncConnection, *, payment_id: str | None = None, reference: str | None = None
) -> PaymentRecord | None:
    """Load a payment for change. PostgreSQL takes the row lock; SQLite already holds the write lock."""
    query = select(P.id)
    query = query.where(P.id == payment_id) if payment_id is not None else query.where(P.reference == reference)
    found = (await tx.execute(dialect.locked(tx, query))).scalar_one_or_none()
    return None if found is None else await views.load(tx, found)


async def move(
    tx: AsyncConnection,
    record: PaymentRecord,
    event: Event,
    now: datetime,
    *,
    reason: str = "",
    values: dict[str, Any] | None = None,
) -> PaymentRecord | None:
    current = Status(record.row.status)
    new = next_status(current, event)
    changes = {"status": new.value, "status_reason": reason, "updated_at": now, **(values or {})}
    result = await tx.execute(
        update(pt.payments).where(P.id == record.row.id, P.status == current.value).values(**changes)
    )
    if result.rowcount != 1:
        return None
    fresh = record.updated(**changes)
    await announce(tx, fresh, f"payment.{new.value}", now)
    return fresh


async def announce(tx: AsyncConnection, record: PaymentRecord, event_type: str, now: datetime) -> str:
    """Write the payment's current snapshot to the outbox under ``event_type``."""
    return await outbox.record(
        tx,
        portal_id=record.row.portal_id,
        dossier_code=record.row.dossier_code,
        type=event_type,
        resource_type="payment",
        resource_id=record.row.id,
        payload=msgspec.to_builtins(views.view(record)),
        now=now,
    )


HUB_ACCOUNT = "hub_receivable"


def agency_account(agency_code: str) -> str:
    return f"agency:{agency_code}:collected"


async def post_ledger(
    tx: AsyncConnection,
    *,
    group: str,
    payment_id: str,
    agency_code: str,
    amount: int,
    now: datetime,
    refund_id: str | None = None,
) -> None:
    """Two entries that sum to zero: a collection debits the hub and credits the agency; a refund reverses it.
    ``group`` is unique per account, so the same collection can never be posted twice."""
    sign = -1 if refund_id else 1
    rows = [
        {"account": HUB_ACCOUNT, "amount": sign * amount},
        {"account": agency_account(agency_code), "amount": -sign * amount},
    ]
    await tx.execute(
        pt.ledger_entries.insert(),
        [
            {"entry_group": group, "payment_id": payment_id, "refund_id": refund_id, "created_at": now, **row}
            for row in rows
        ],
    )
