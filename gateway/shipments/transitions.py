"""Moving a shipment to a new status, with its outbox events, inside the caller's transaction.

This is the only place a shipment's status is written. The update is conditional on the status read under the
row lock (PostgreSQL) or the write lock (SQLite), so two writers never both move the same shipment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import outbox
from gateway.store.tables import shipments as st

from . import views
from .state import NAMED_EVENTS
from .views import S, ShipmentRecord


async def lock(tx: AsyncConnection, shipment_ids: Iterable[str]) -> dict[str, ShipmentRecord]:
    """Load shipments for change, locking them in id order so concurrent writers cannot deadlock."""
    return await views.load_many(tx, sorted(set(shipment_ids)), for_update=True)


async def move(
    tx: AsyncConnection,
    record: ShipmentRecord,
    status: str,
    now: datetime,
    *,
    values: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> ShipmentRecord | None:
    """Set ``status`` (and ``values``) if the shipment is still as read; announce it. ``None`` if it was not."""
    previous = record.row.status
    row = (
        await tx.execute(
            update(st.shipments)
            .where(S.id == record.row.id, S.status == previous)
            .values(status=status, updated_at=now, **(values or {}))
            .returning(*st.shipments.c)
        )
    ).first()
    if row is None:
        return None
    fresh = ShipmentRecord(row, record.agency_code, [], record.collection, record.cod_exceptions)
    extra = {"previous_status": previous, "event": event}
    await announce(tx, fresh, "shipment.status_changed", now, extra)
    if status in NAMED_EVENTS:
        await announce(tx, fresh, NAMED_EVENTS[status], now, extra)
    return fresh


async def announce(
    tx: AsyncConnection, record: ShipmentRecord, event_type: str, now: datetime, extra: dict[str, Any] | None = None
) -> str:
    """Write the shipment's current snapshot (plus ``extra``) to the outbox under ``event_type``."""
    return await outbox.record(
        tx,
        portal_id=record.row.portal_id,
        dossier_code=record.row.dossier_code,
        type=event_type,
        resource_type="shipment",
        resource_id=record.row.id,
        payload={**views.snapshot(record), **(extra or {})},
        now=now,
    )
