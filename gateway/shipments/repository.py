"""All of the shipments area's SQL: shipments with their timelines, the post's events and feed cursor, and what the
post collected on delivery (``cod_collections``) or reported and we hold (``cod_exceptions``). Rows stay here: what
leaves is a record (``records``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.ids import new_id
from gateway.kernel.collected import Pending
from gateway.store import dialect, pages
from gateway.store.direct import Direct
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as st
from gateway.store.uow import UnitOfWork

from .records import (
    CatalogueFee,
    CodCollection,
    CodException,
    CollectionToReceipt,
    HeldCodReport,
    Shipment,
    ShipmentEvent,
)
from .state import BOOKING

S = st.shipments.c
E = st.shipment_events.c
C = st.cod_collections.c
X = st.cod_exceptions.c
K = st.postal_cursors.c
OPEN = "open"  # a held COD report not yet reconciled
R = TypeVar("R")


@cache
def _names(kind: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _record(kind: type[R], row: Row[Any], **given: Any) -> R:
    """The record of ``kind`` made of ``row``: every field not ``given`` is the row's column of that name."""
    return _of(kind, row._mapping, **given)


def _of(kind: type[R], mapping: Mapping[str, Any], **given: Any) -> R:
    """The record of ``kind`` made of ``mapping`` (columns by name) and what is ``given``."""
    return kind(**{name: mapping[name] for name in _names(kind) if name not in given}, **given)


# ---------------------------------------------------------------- shipments


def _query() -> Any:
    return select(st.shipments, ct.agencies.c.code.label("agency_code")).join(
        ct.agencies, ct.agencies.c.id == S.agency_id
    )


async def load(
    conn: AsyncConnection, shipment_id: str, portal_id: str | None = None, *, timeline: bool = True
) -> Shipment | None:
    """One shipment; ``timeline=False`` skips its events where only the shipment is needed (outbox snapshots)."""
    query = _query().where(S.id == shipment_id)
    if portal_id is not None:
        query = query.where(S.portal_id == portal_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return (await _complete(conn, [row], timeline=timeline))[0]


# A postal event's reads of its shipments, built once and run straight on asyncpg on PostgreSQL (``Direct``): the
# shipments locked in id order; then, in a statement of its own (so that it sees what a writer the lock waited for
# committed), their COD collections and whether they have held COD reports; those reports only when they have.
_COLLECTION = [column.label(f"collection_{column.name}") for column in st.cod_collections.c]
_HAS_HELD = select(X.id).where(X.shipment_id == S.id).exists().label("has_held")
_LOCK = dialect.OneOf(lambda one_of: _query().where(one_of(S.id)).order_by(S.id).with_for_update(of=st.shipments))
_COD = dialect.OneOf(
    lambda one_of: (
        select(S.id.label("shipment_id"), *_COLLECTION, _HAS_HELD)
        .select_from(st.shipments.outerjoin(st.cod_collections, C.shipment_id == S.id))
        .where(one_of(S.id))
    )
)
_HELD = dialect.OneOf(
    lambda one_of: select(st.cod_exceptions).where(one_of(X.shipment_id)).order_by(X.created_at, X.id)
)
# A checked unit's read (PostgreSQL only: elsewhere a checked unit is an ordinary one, which locks): the shipments
# with their COD collections, whether they have held reports, and which of the events' ``keys`` are recorded already
# (on any shipment, by any path), all in one statement and so on one snapshot.
_READ = Direct(
    select(
        st.shipments,
        ct.agencies.c.code.label("agency_code"),
        *_COLLECTION,
        _HAS_HELD,
        func.array(select(E.dedupe_key).where(dialect.any_of(E.dedupe_key, "keys")).scalar_subquery()).label("seen"),
    )
    .select_from(
        st.shipments.join(ct.agencies, ct.agencies.c.id == S.agency_id).outerjoin(
            st.cod_collections, C.shipment_id == S.id
        )
    )
    .where(dialect.any_of(S.id))
)


async def for_change(
    uow: UnitOfWork, shipment_ids: Iterable[str], keys: Iterable[str]
) -> tuple[dict[str, Shipment], set[str] | None]:
    """The shipments of ``shipment_ids`` read to be changed in ``uow`` (without their timelines), with which of the
    events' ``keys`` are recorded already. In a checked unit, as committed, in one statement without a lock (its
    writes apply only to the shipments as read, ``change``, and to keys still free, ``keep_event``); in any other
    unit under their row locks (``lock``), the keys not read (``None``: the unit's inserts say, ``insert_event``)."""
    if not uow.checked:
        return await lock(uow.conn, shipment_ids), None
    ids = sorted(set(shipment_ids))
    if not ids:
        return {}, set()
    rows = await _READ.rows(uow.conn, {"ids": ids, "keys": sorted(set(keys))})
    seen = set(rows[0]["seen"]) if rows else set()
    return await _assembled(uow.conn, rows, {row["id"]: row for row in rows}), seen


async def lock(tx: AsyncConnection, shipment_ids: Iterable[str]) -> dict[str, Shipment]:
    """Load shipments for change (without their timelines), locking them in id order so concurrent writers cannot
    deadlock (PostgreSQL; SQLite's transactions already hold the write lock)."""
    ids = sorted(set(shipment_ids))
    if not ids:
        return {}
    rows = await _LOCK.on(tx).rows(tx, {"ids": ids})
    if not rows:
        return {}
    cod = {x["shipment_id"]: x for x in await _COD.on(tx).rows(tx, {"ids": [row["id"] for row in rows]})}
    return await _assembled(tx, rows, cod)


async def _assembled(
    conn: AsyncConnection, rows: Sequence[Mapping[str, Any]], cod: Mapping[str, Mapping[str, Any]]
) -> dict[str, Shipment]:
    """The shipments of ``rows`` with the COD collections and held-report flags of ``cod`` (by shipment id), and
    the held reports of those flagged, read in one more statement."""
    flagged = [shipment_id for shipment_id, x in cod.items() if x["has_held"]]
    held: dict[str, list[CodException]] = {shipment_id: [] for shipment_id in flagged}
    if flagged:
        for x in await _HELD.on(conn).rows(conn, {"ids": flagged}):
            held[x["shipment_id"]].append(_of(CodException, x))
    return {
        row["id"]: _of(
            Shipment,
            row,
            events=(),
            collection=_collection(cod[row["id"]]),
            cod_exceptions=tuple(held.get(row["id"], ())),
        )
        for row in rows
    }


def _collection(row: Mapping[str, Any]) -> CodCollection | None:
    if row["collection_id"] is None:
        return None
    return CodCollection(**{name: row[f"collection_{name}"] for name in _names(CodCollection)})


async def list_page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    dossier_code: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Shipment], str | None]:
    """Newest first; the cursor is the last id of the previous page (ids sort by creation)."""
    query = _query().where(S.portal_id == portal_id)
    if dossier_code:
        query = query.where(S.dossier_code == dossier_code)
    if status:
        query = query.where(S.status == status)
    rows, next_cursor = await pages.newest_first(conn, query, S.id, cursor or None, limit)
    return await _complete(conn, rows), next_cursor


async def _complete(conn: AsyncConnection, rows: list[Row[Any]], *, timeline: bool = True) -> list[Shipment]:
    """The rows with their timelines, COD collections and held COD reports, in three queries whatever the page size."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    events: dict[str, list[ShipmentEvent]] = {i: [] for i in ids}
    if timeline:
        query = select(st.shipment_events).where(E.shipment_id.in_(ids)).order_by(E.occurred_at, E.id)
        for event in await conn.execute(query):
            events[event.shipment_id].append(_record(ShipmentEvent, event))
    collections = {
        c.shipment_id: _record(CodCollection, c)
        for c in await conn.execute(select(st.cod_collections).where(C.shipment_id.in_(ids)))
    }
    held: dict[str, list[CodException]] = {i: [] for i in ids}
    for x in await conn.execute(select(st.cod_exceptions).where(X.shipment_id.in_(ids)).order_by(X.created_at, X.id)):
        held[x.shipment_id].append(_record(CodException, x))
    return [
        _record(
            Shipment,
            row,
            events=tuple(events[row.id]),
            collection=collections.get(row.id),
            cod_exceptions=tuple(held[row.id]),
        )
        for row in rows
    ]


async def insert(tx: AsyncConnection, values: dict[str, Any]) -> None:
    await tx.execute(st.shipments.insert().values(**values))


# The statements of every postal event are built once, and run straight on asyncpg on PostgreSQL (``Direct``).
_SET_STATUS = Direct(
    update(st.shipments).where(S.id == bindparam("b_id"), S.status == bindparam("b_status")).returning(*st.shipments.c)
)
_CHANGE_AS_READ = Direct(
    update(st.shipments).where(
        S.id == bindparam("b_id"), S.status == bindparam("b_status"), S.updated_at == bindparam("b_updated")
    )
)
_INSERT_EVENT = dialect.Inserting(
    lambda insert: insert(st.shipment_events).on_conflict_do_nothing(index_elements=[E.dedupe_key]).returning(E.id)
)
_KEEP_EVENT = Direct(st.shipment_events.insert())
EVENT_KEY = "uq_shipment_events_dedupe_key"  # the migrations' name of the unique constraint on the dedupe key


async def set_status(
    tx: AsyncConnection, shipment: Shipment, status: str, now: datetime, values: dict[str, Any]
) -> Shipment | None:
    """Set ``status`` (and ``values``) if the shipment is still in the status it was read in; the shipment as
    stored now (without its timeline), or None."""
    changes = {"status": status, "updated_at": now, **values, "b_id": shipment.id, "b_status": shipment.status}
    rows = await _SET_STATUS.rows(tx, changes)
    if not rows:
        return None
    return _of(
        Shipment,
        rows[0],
        agency_code=shipment.agency_code,
        events=(),
        collection=shipment.collection,
        cod_exceptions=shipment.cod_exceptions,
    )


def change(uow: UnitOfWork, record: Shipment, values: dict[str, Any]) -> None:
    """Update the shipment read in the checked unit ``uow`` when it commits, with its kept writes, if it is still as
    ``record`` read it: its status and the time it last changed (every write made under a shipment's lock sets
    ``updated_at``: a move, the post's answer to its booking, a COD report). Were it changed, the commit fails
    (``LostChange``) and nothing of the unit is written."""
    expected = {"b_id": record.id, "b_status": record.status, "b_updated": record.updated_at}
    uow.change_later(_CHANGE_AS_READ, {**values, **expected})


async def set_values(tx: AsyncConnection, shipment_id: str, values: dict[str, Any], now: datetime) -> None:
    """Write ``values`` of the shipment (locked by the caller), and the time it changed."""
    await tx.execute(st.shipments.update().where(S.id == shipment_id).values(**values, updated_at=now))


async def touch(tx: AsyncConnection, shipment_id: str, now: datetime) -> None:
    """Mark the shipment (locked by the caller) changed: what it shows changed in another table (its COD)."""
    await tx.execute(st.shipments.update().where(S.id == shipment_id).values(updated_at=now))


async def stale_bookings(conn: AsyncConnection, cutoff: datetime, limit: int) -> list[str]:
    """Shipments still ``booking`` since before ``cutoff``, oldest first."""
    query = select(S.id).where(S.status == BOOKING, S.updated_at < cutoff).order_by(S.created_at).limit(limit)
    return list((await conn.execute(query)).scalars())


async def owners_by_original(tx: AsyncConnection, original_ids: set[str]) -> list[tuple[str, str]]:
    """(shipment id, originalId) of the shipments the post knows by these originalIds."""
    rows = await tx.execute(select(S.id, S.original_id).where(S.original_id.in_(original_ids)))
    return [(shipment_id, original_id) for shipment_id, original_id in rows]


# ---------------------------------------------------------------- the post's events and feed cursor


async def insert_event(tx: AsyncConnection, values: dict[str, Any]) -> bool:
    """Keep one event on its shipment's timeline; ``False`` if its ``dedupe_key`` was seen before."""
    return bool(await _INSERT_EVENT.on(tx).rows(tx, values))


def keep_event(uow: UnitOfWork, values: dict[str, Any]) -> None:
    """Keep one event for the checked unit's commit, its ``dedupe_key`` read as free: taken meanwhile, it fails the
    commit (``LostChange``: read again, the event is a repeat)."""
    uow.later(_KEEP_EVENT, [values], read_free=EVENT_KEY)


async def read_cursor(conn: AsyncConnection, name: str) -> int:
    found = (await conn.execute(select(K.last_id).where(K.name == name))).scalar_one_or_none()
    return int(found or 0)


async def move_cursor(tx: AsyncConnection, name: str, seen: int, last_id: int, now: datetime) -> bool:
    """Move the cursor from ``seen`` to ``last_id`` (made if it never moved); ``False`` if it is not at ``seen``."""
    result = await tx.execute(
        update(st.postal_cursors).where(K.name == name, K.last_id == seen).values(last_id=last_id, updated_at=now)
    )
    if result.rowcount == 1:
        return True
    if seen != 0:
        return False
    created = await tx.execute(
        dialect.insert(tx, st.postal_cursors)
        .values(name=name, last_id=last_id, updated_at=now)
        .on_conflict_do_nothing(index_elements=[K.name])
    )
    return bool(created.rowcount == 1)


# ---------------------------------------------------------------- what the post collected on delivery


async def insert_collection(
    tx: AsyncConnection, shipment: Shipment, amount: int, collected_at: datetime, now: datetime
) -> str | None:
    """Record the collection of ``shipment``; its id, or None if the shipment already has one."""
    statement = (
        dialect.insert(tx, st.cod_collections)
        .values(
            id=new_id("cod"),
            shipment_id=shipment.id,
            portal_id=shipment.portal_id,
            agency_id=shipment.agency_id,
            dossier_code=shipment.dossier_code,
            procedure_code=shipment.procedure_code,
            amount=amount,
            collected_at=collected_at,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[C.shipment_id])
        .returning(C.id)
    )
    found = (await tx.execute(statement)).scalar_one_or_none()
    return None if found is None else str(found)


async def insert_exception(tx: AsyncConnection, values: dict[str, Any]) -> str | None:
    """Hold one reported collection; its id, or None if that event's report is held already."""
    statement = (
        dialect.insert(tx, st.cod_exceptions)
        .values(id=new_id("cdx"), status=OPEN, **values)
        .on_conflict_do_nothing(index_elements=[X.event_key])
        .returning(X.id)
    )
    found = (await tx.execute(statement)).scalar_one_or_none()
    return None if found is None else str(found)


async def without_receipt(conn: AsyncConnection, limit: int = 100) -> list[CodCollection]:
    """COD collections no receipt was issued for yet, oldest first."""
    query = select(st.cod_collections).where(C.receipt_id.is_(None)).order_by(C.collected_at, C.id).limit(limit)
    return [_record(CodCollection, row) for row in await conn.execute(query)]


async def collections_to_receipt(conn: AsyncConnection, collection_ids: Sequence[str]) -> list[CollectionToReceipt]:
    """The collections with these ids, with the citizen their shipment went to (the payer of their receipt)."""
    query = (
        select(*st.cod_collections.c, S.citizen_name, S.citizen_street, S.citizen_commune_name, S.citizen_province_name)
        .join(st.shipments, S.id == C.shipment_id)
        .where(C.id.in_(collection_ids))
    )
    return [_record(CollectionToReceipt, row) for row in await conn.execute(query)]


async def catalogue_fees(conn: AsyncConnection, agency_id: str, procedure_code: str) -> list[CatalogueFee]:
    """The fees of the agency's procedure in the catalogue, by code (none when it has no such procedure)."""
    pr, fee = ct.procedures.c, ct.procedure_fees.c
    query = (
        select(ct.procedure_fees)
        .join(ct.procedures, pr.id == fee.procedure_id)
        .where(pr.agency_id == agency_id, pr.code == procedure_code)
        .order_by(fee.code)
    )
    return [_record(CatalogueFee, row) for row in await conn.execute(query)]


async def unreceipted_collections(
    conn: AsyncConnection, limit: int, pending: Pending, collected_by: datetime
) -> list[str]:
    """Recorded at or before ``collected_by`` (the post's own time of collection may be much older), oldest
    collected first."""
    query = select(C.id).where(C.created_at <= collected_by, pending(C.id)).order_by(C.collected_at, C.id).limit(limit)
    return list((await conn.execute(query)).scalars())


async def link_receipts(tx: AsyncConnection, issued: Sequence[tuple[str, str]], now: datetime) -> None:
    """Point each collection at its receipt, so the shipment shows it: a change of the shipment, made under its row
    lock (taken in id order, as every unit takes shipments) and marked on it (``updated_at``)."""
    if not issued:
        return
    collection_ids = [collection_id for collection_id, _ in issued]
    owners = select(C.shipment_id).where(C.id.in_(collection_ids))
    locking = dialect.locked(tx, select(S.id).where(S.id.in_(owners)).order_by(S.id), of=st.shipments)
    shipment_ids = list((await tx.execute(locking)).scalars())
    statement = update(st.cod_collections).where(C.id == bindparam("collection_id"))
    rows = [{"collection_id": collection_id, "receipt": receipt_id} for collection_id, receipt_id in issued]
    await tx.execute(statement.values(receipt_id=bindparam("receipt")), rows)  # one statement for the batch
    await tx.execute(update(st.shipments).where(S.id.in_(shipment_ids)).values(updated_at=now))


async def count_open_exceptions(conn: AsyncConnection) -> int:
    """How many reported collections are held, not yet reconciled."""
    return int((await conn.execute(select(func.count()).where(X.status == OPEN))).scalar_one())


async def open_exceptions(conn: AsyncConnection, limit: int = 1000) -> list[HeldCodReport]:
    """The held collections, oldest first, with their agency's code and the shipment's post item code."""
    query = (
        select(st.cod_exceptions, ct.agencies.c.code.label("agency_code"), S.item_code)
        .join(ct.agencies, ct.agencies.c.id == X.agency_id)
        .join(st.shipments, S.id == X.shipment_id)
        .where(X.status == OPEN)
        .order_by(X.created_at, X.id)
        .limit(limit)
    )
    return [_record(HeldCodReport, row) for row in await conn.execute(query)]


async def cod_collected_rows(conn: AsyncConnection, since: datetime, until: datetime) -> list[Row[Any]]:
    """COD collections recorded as collected in ``[since, until)`` with their parcel's item code, in time order:
    (shipment id, item code, amount, collected at, agency id)."""
    query = (
        select(C.shipment_id, S.item_code, C.amount, C.collected_at, C.agency_id)
        .join(st.shipments, S.id == C.shipment_id)
        .where(C.collected_at >= since, C.collected_at < until)
        .order_by(C.collected_at, C.shipment_id)
    )
    return list((await conn.execute(query)).all())
