"""Reading events from the outbox: the pull feed in its stable order, and a dossier's events.

Why the feed is not ``position > cursor``: on PostgreSQL positions come from a sequence, so a transaction that took
position 10 can commit after one that took 11; a reader that saw 11 and moved its cursor past it would never see
10. So each event records the id of the transaction that wrote it (``txid``), the feed orders by
``(txid, position)`` and serves only events of transactions older than every transaction still running
(``pg_snapshot_xmin``): whatever commits later has a larger ``txid`` than anything already served. On SQLite
writers take turns (``BEGIN IMMEDIATE``), so ``position`` order is commit order and ``txid`` is always 0.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.direct import Direct
from gateway.store.tables import outbox as ot

from .model import ResourceEvent, StoredEvent

OB = ot.outbox.c
SETTLED = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")

# The outbox columns an envelope needs (the rest are delivery bookkeeping), in ``StoredEvent``'s order.
COLUMNS = (OB.position, OB.txid, OB.id, OB.portal_id, OB.dossier_code, OB.sequence, OB.type, OB.payload, OB.created_at)


def stored(row: Any) -> StoredEvent:
    """The event of a row selected with ``COLUMNS`` first."""
    return StoredEvent(*row[: len(COLUMNS)])


def _feed_statement(settled: bool, by_dossier: bool, by_type: bool) -> Direct:
    """The feed's read for one combination of its filters, built once."""
    start = tuple_(bindparam("txid", type_=BigInteger), bindparam("position", type_=BigInteger))
    query = select(*COLUMNS).where(OB.portal_id == bindparam("portal_id"), tuple_(OB.txid, OB.position) > start)
    if settled:
        query = query.where(OB.txid < SETTLED)
    if by_dossier:
        query = query.where(OB.dossier_code == bindparam("dossier_code"))
    if by_type:
        query = query.where(OB.type == bindparam("event_type"))
    return Direct(query.order_by(OB.txid, OB.position).limit(bindparam("limit", type_=Integer)))


# By (PostgreSQL, a dossier asked for, a type asked for): SQLite has no snapshot to read, and needs none.
_FEED = {key: _feed_statement(*key) for key in itertools.product((True, False), repeat=3)}


async def feed_page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    start: tuple[int, int],
    dossier_code: str | None,
    event_type: str | None,
    limit: int,
) -> list[StoredEvent]:
    """Up to ``limit`` of the portal's settled events after ``start`` (``(txid, position)``), in feed order."""
    statement = _FEED[(conn.dialect.name == "postgresql", bool(dossier_code), bool(event_type))]
    values: dict[str, Any] = {"portal_id": portal_id, "txid": start[0], "position": start[1], "limit": limit}
    if dossier_code:
        values["dossier_code"] = dossier_code
    if event_type:
        values["event_type"] = event_type
    return [StoredEvent(**row) for row in await statement.rows(conn, values)]


async def of_dossier(conn: AsyncConnection, portal_id: str, dossier_code: str) -> list[ResourceEvent]:
    """Every event of one dossier, in sequence order."""
    query = (
        select(OB.id, OB.type, OB.sequence, OB.created_at, OB.resource_type, OB.resource_id, OB.payload)
        .where(OB.portal_id == portal_id, OB.dossier_code == dossier_code)
        .order_by(OB.sequence)
    )
    return [ResourceEvent(*row) for row in await conn.execute(query)]
