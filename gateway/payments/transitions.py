"""Moving a payment from one status to the next, with its outbox event, inside the caller's unit of work.

The update goes with the unit's other writes when it commits (one round trip), conditional on the payment being as
read (its status and the time of its last move), and a unit whose update finds it moved fails whole
(``LostChange``): under the row lock the caller took (``repository.lock``) it cannot have moved; in a checked unit
(``repository.for_change``) the caller reads it again. This is the only place a payment's status is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from gateway.store.types import after, as_stored
from gateway.store.uow import UnitOfWork

from . import presenter, repository
from .records import Payment
from .state import Event, Status, next_status


async def move(
    uow: UnitOfWork,
    record: Payment,
    event: Event,
    now: datetime,
    *,
    reason: str = "",
    values: dict[str, Any] | None = None,
) -> Payment:
    """Move ``record`` (read for change in ``uow``) by ``event``; the payment as it will be committed."""
    current = Status(record.status)
    new = next_status(current, event)
    at = after(now, record.updated_at)
    changes = as_stored({"status": new.value, "status_reason": reason, "updated_at": at, **(values or {})})
    repository.change(uow, record, changes)
    fresh = record.updated(**changes)
    await announce(uow, fresh, f"payment.{new.value}", at)
    return fresh


async def announce(uow: UnitOfWork, record: Payment, event_type: str, now: datetime) -> str:
    """Write the payment's current snapshot to the outbox under ``event_type``."""
    return await uow.event(
        portal_id=record.portal_id,
        dossier_code=record.dossier_code,
        type=event_type,
        resource_type="payment",
        resource_id=record.id,
        payload=msgspec.to_builtins(presenter.view(record)),
        now=now,
    )


HUB_ACCOUNT = "hub_receivable"


def agency_account(agency_code: str) -> str:
    return f"agency:{agency_code}:collected"


def ledger_entries(
    *, group: str, payment_id: str, agency_code: str, amount: int, now: datetime, refund_id: str | None = None
) -> list[dict[str, Any]]:
    """Two entries that sum to zero: a collection debits the hub and credits the agency; a refund reverses it.
    ``group`` is unique per account, so the same collection can never be posted twice."""
    sign = -1 if refund_id else 1
    rows = [
        {"account": HUB_ACCOUNT, "amount": sign * amount},
        {"account": agency_account(agency_code), "amount": -sign * amount},
    ]
    return [
        {"entry_group": group, "payment_id": payment_id, "refund_id": refund_id, "created_at": now, **row}
        for row in rows
    ]
