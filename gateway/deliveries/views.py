"""Reading a portal's delivery log and dead letters, newest first, by cursor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.events.model import COLUMNS, envelope
from gateway.kernel import params
from gateway.store import pages
from gateway.store.tables import deliveries as dt
from gateway.store.tables import outbox as ot

from .relay import DEAD
from .schemas import AttemptOut, DeadLetter, DeliveryStatus

A = dt.delivery_attempts.c
OB = ot.outbox.c
STATUS_COLUMNS = (OB.dispatch_state, OB.attempts, OB.next_attempt_at, OB.delivered_at, OB.last_error)


def int_cursor(cursor: str | None, field: str = "cursor") -> int | None:
    return params.position(cursor, field)


async def attempts(
    conn: AsyncConnection, portal_id: str, *, event_id: str | None, cursor: str | None, limit: int
) -> tuple[list[AttemptOut], str | None]:
    query = select(dt.delivery_attempts).where(A.portal_id == portal_id)
    if event_id:
        query = query.where(A.event_id == event_id)
    rows, next_cursor = await pages.newest_first(conn, query, A.id, int_cursor(cursor), limit)
    page = [
        AttemptOut(
            id=r.id,
            event_id=r.event_id,
            attempt=r.attempt,
            url=r.url,
            outcome=r.outcome,
            status_code=r.status_code,
            latency_ms=r.latency_ms,
            error=r.error,
            attempted_at=r.attempted_at,
        )
        for r in rows
    ]
    return page, next_cursor


def status(row: Row[Any]) -> DeliveryStatus:
    return DeliveryStatus(
        state=row.dispatch_state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )


async def dead_letters(
    conn: AsyncConnection, portal_id: str, *, cursor: str | None, limit: int
) -> tuple[list[DeadLetter], str | None]:
    query = select(*COLUMNS, *STATUS_COLUMNS).where(OB.portal_id == portal_id, OB.dispatch_state == DEAD)
    rows, next_cursor = await pages.newest_first(conn, query, OB.position, int_cursor(cursor), limit)
    return [DeadLetter(event=envelope(r), delivery=status(r)) for r in rows], next_cursor


async def event_with_status(conn: AsyncConnection, portal_id: str, event_id: str) -> Row[Any] | None:
    query = select(*COLUMNS, *STATUS_COLUMNS).where(OB.portal_id == portal_id, OB.id == event_id)
    return (await conn.execute(query)).first()
