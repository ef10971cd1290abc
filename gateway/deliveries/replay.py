"""Sending events again on a portal's request: one event (whatever its state), or every dead letter since a
time. A replayed event goes back to pending with a fresh retry schedule; the relay picks it up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables import outbox as ot

from .relay import DEAD, PENDING

OB = ot.outbox.c

FRESH = {
    "dispatch_state": PENDING,
    "attempts": 0,
    "next_attempt_at": None,
    "claim_token": None,
    "claimed_until": None,
    "last_error": "",
}


async def one(tx: AsyncConnection, portal_id: str, event_id: str, now: datetime) -> bool:
    """Queue the event again unless it is already waiting to be sent; False if the portal has no such event."""
    mine = (OB.portal_id == portal_id, OB.id == event_id)
    result = await tx.execute(update(ot.outbox).where(*mine, OB.dispatch_state != PENDING).values(**FRESH))
    if result.rowcount:
        return True
    return (await tx.execute(select(OB.position).where(*mine))).first() is not None


async def dead_since(tx: AsyncConnection, portal_id: str, since: datetime) -> int:
    result = await tx.execute(
        update(ot.outbox)
        .where(OB.portal_id == portal_id, OB.dispatch_state == DEAD, OB.created_at >= since)
        .values(**FRESH)
    )
    return result.rowcount or 0
