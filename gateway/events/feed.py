"""The pull feed: a portal's events in a stable order, from a cursor, never skipping one.

Why not ``position > cursor``: on PostgreSQL positions come from a sequence, so a transaction that took position
10 can commit after one that took 11; a reader that saw 11 and moved its cursor past it would never see 10. So
each event records the id of the transaction that wrote it (``txid``), the feed orders by ``(txid, position)`` and
serves only events of transactions older than every transaction still running (``pg_snapshot_xmin``): whatever
commits later has a larger ``txid`` than anything already served. On SQLite writers take turns (``BEGIN
IMMEDIATE``), so ``position`` order is commit order and ``txid`` is always 0.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel import params
from gateway.store.tables import outbox as ot

from .model import COLUMNS

OB = ot.outbox.c
SETTLED = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def cursor_of(row: Row[Any]) -> str:
    return f"{row.txid}-{row.position}"


def parse_cursor(value: str | None) -> tuple[int, int]:
    return params.event_cursor(value, "after")


async def page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    after: str | None,
    dossier_code: str | None,
    event_type: str | None,
    limit: int,
) -> tuple[list[Row[Any]], str | None]:
    start = parse_cursor(after)
    query = select(*COLUMNS).where(OB.portal_id == portal_id, tuple_(OB.txid, OB.position) > tuple_(*start))
    if conn.dialect.name == "postgresql":
        query = query.where(OB.txid < SETTLED)
    if dossier_code:
        query = query.where(OB.dossier_code == dossier_code)
    if event_type:
        query = query.where(OB.type == event_type)
    rows = list((await conn.execute(query.order_by(OB.txid, OB.position).limit(limit))).all())
    return rows, (cursor_of(rows[-1]) if rows else after)
