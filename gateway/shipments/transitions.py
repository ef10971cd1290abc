"""Moving a shipment to a new status, with its outbox events, inside the caller's unit of work.

This is the only place a shipment's status is written. The update is conditional on the status read under the
row lock (PostgreSQL) or the write lock (SQLite), or in a checked unit on the status and the time of the last change
read, so two writers never both move the same shipment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from gateway.store.types import after, as_stored
from gateway.store.uow import UnitOfWork

from . import presenter, repository
from .records import Shipment
from .repository import lock
from .state import NAMED_EVENTS

__all__ = ["announce", "lock", "move"]


async def move(
    uow: UnitOfWork,
    record: Shipment,
    status: str,
    now: datetime,
    *,
    values: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> Shipment | None:
    """Set ``status`` (and ``values``) if the shipment is still as read; announce it. ``None`` if it was not. In a
    checked unit the move is kept for the commit (``repository.change``), which fails unless the shipment is still
    as read; in any other unit it is written at once, under the row lock the caller holds."""
    previous = record.status
    now = after(now, record.updated_at)
    if uow.checked:
        changes = as_stored({"status": status, "updated_at": now, **(values or {})})
        repository.change(uow, record, changes)
        fresh: Shipment | None = replace(record, **changes)
    else:
        fresh = await repository.set_status(uow.conn, record, status, now, values or {})
    if fresh is None:
        return None
    extra = {"previous_status": previous, "event": event}
    await announce(uow, fresh, "shipment.status_changed", now, extra)
    if status in NAMED_EVENTS:
        await announce(uow, fresh, NAMED_EVENTS[status], now, extra)
    return fresh


async def announce(
    uow: UnitOfWork, record: Shipment, event_type: str, now: datetime, extra: dict[str, Any] | None = None
) -> str:
    """Write the shipment's current snapshot (plus ``extra``) to the outbox under ``event_type``."""
    return await uow.event(
        portal_id=record.portal_id,
        dossier_code=record.dossier_code,
        type=event_type,
        resource_type="shipment",
        resource_id=record.id,
        payload={**presenter.snapshot(record), **(extra or {})},
        now=now,
    )
