"""Reading shipments and showing them: the one representation used by the API and the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import dialect, pages
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as st

from .schemas import AddressOut, CodCollectionOut, CodExceptionOut, EventOut, PartyOut, ShipmentOut
from .state import Direction

S = st.shipments.c
E = st.shipment_events.c
C = st.cod_collections.c
X = st.cod_exceptions.c


@dataclass(frozen=True)
class ShipmentRecord:
    row: Row[Any]
    agency_code: str
    events: list[Row[Any]]
    collection: Row[Any] | None
    cod_exceptions: list[Row[Any]] = field(default_factory=list)  # collections reported but held (``cod``)


def _query() -> Any:
    return select(st.shipments, ct.agencies.c.code.label("agency_code")).join(
        ct.agencies, ct.agencies.c.id == S.agency_id
    )


async def load(
    conn: AsyncConnection, shipment_id: str, portal_id: str | None = None, *, timeline: bool = True
) -> ShipmentRecord | None:
    """One shipment; ``timeline=False`` skips its events where only the shipment is needed (outbox snapshots)."""
    query = _query().where(S.id == shipment_id)
    if portal_id is not None:
        query = query.where(S.portal_id == portal_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return (await _complete(conn, [row], timeline=timeline))[0]


async def load_many(
    conn: AsyncConnection, shipment_ids: list[str], *, for_update: bool = False
) -> dict[str, ShipmentRecord]:
    """Several shipments without their timelines, in two queries; ``for_update`` locks their rows in id order
    (PostgreSQL; SQLite's transactions already hold the write lock)."""
    if not shipment_ids:
        return {}
    query = _query().where(S.id.in_(shipment_ids)).order_by(S.id)
    if for_update:
        query = dialect.locked(conn, query, of=st.shipments)
    rows = (await conn.execute(query)).all()
    return {record.row.id: record for record in await _complete(conn, rows, timeline=False)}


async def list_page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    dossier_code: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ShipmentRecord], str | None]:
    """Newest first; the cursor is the last id of the previous page (ids sort by creation)."""
    query = _query().where(S.portal_id == portal_id)
    if dossier_code:
        query = query.where(S.dossier_code == dossier_code)
    if status:
        query = query.where(S.status == status)
    rows, next_cursor = await pages.newest_first(conn, query, S.id, cursor or None, limit)
    return await _complete(conn, rows), next_cursor


async def _complete(conn: AsyncConnection, rows: list[Row[Any]], *, timeline: bool = True) -> list[ShipmentRecord]:
    """The rows with their timelines, COD collections and held COD reports, in three queries whatever the page size."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    events: dict[str, list[Row[Any]]] = {i: [] for i in ids}
    if timeline:
        query = select(st.shipment_events).where(E.shipment_id.in_(ids)).order_by(E.occurred_at, E.id)
        for event in await conn.execute(query):
            events[event.shipment_id].append(event)
    collections = {
        c.shipment_id: c for c in await conn.execute(select(st.cod_collections).where(C.shipment_id.in_(ids)))
    }
    held: dict[str, list[Row[Any]]] = {i: [] for i in ids}
    for x in await conn.execute(select(st.cod_exceptions).where(X.shipment_id.in_(ids)).order_by(X.created_at, X.id)):
        held[x.shipment_id].append(x)
    return [ShipmentRecord(row, row.agency_code, events[row.id], collections.get(row.id), held[row.id]) for row in rows]


def _party(r: Row[Any], side: str) -> PartyOut:
    return PartyOut(
        name=getattr(r, f"{side}_name"),
        phone=getattr(r, f"{side}_phone"),
        address=AddressOut(
            province_code=getattr(r, f"{side}_province_code"),
            province_name=getattr(r, f"{side}_province_name"),
            commune_code=getattr(r, f"{side}_commune_code"),
            commune_name=getattr(r, f"{side}_commune_name"),
            street=getattr(r, f"{side}_street"),
            admin_version=getattr(r, f"{side}_admin_version"),
        ),
    )


def event_view(e: Row[Any]) -> EventOut:
    return EventOut(
        code=e.raw_code,
        text=e.raw_text,
        state=e.state,
        occurred_at=e.occurred_at,
        location=e.location,
        note=e.note,
        cod_amount=e.cod_amount,
        source=e.source,
        applied=e.applied,
    )


def collection_view(c: Row[Any]) -> CodCollectionOut:
    return CodCollectionOut(id=c.id, amount=c.amount, collected_at=c.collected_at, receipt_id=c.receipt_id)


def exception_view(x: Row[Any]) -> CodExceptionOut:
    return CodExceptionOut(
        id=x.id,
        reason=x.reason,
        booked_amount=x.booked_amount,
        reported_amount=x.reported_amount,
        shipment_status=x.shipment_status,
        reported_at=x.reported_at,
        source=x.source,
        status=x.status,
    )


def view(record: ShipmentRecord) -> ShipmentOut:
    r = record.row
    return ShipmentOut(
        id=r.id,
        status=r.status,
        status_code=r.status_code,
        status_text=r.status_text,
        status_at=r.status_at,
        status_reason=r.status_reason,
        dossier_code=r.dossier_code,
        procedure_code=r.procedure_code,
        direction=r.direction,
        agency_code=record.agency_code,
        service=r.service_code,
        weight_grams=r.weight_grams,
        cod_amount=r.cod_amount,
        note=r.note,
        citizen=_party(r, "citizen"),
        agency=_party(r, "agency"),
        sender="citizen" if r.direction == Direction.COLLECT_DOSSIER else "agency",
        original_id=r.original_id,
        item_code=r.item_code,
        postage=r.postage,
        cod_collection=collection_view(record.collection) if record.collection is not None else None,
        cod_exceptions=[exception_view(x) for x in record.cod_exceptions],
        timeline=[event_view(e) for e in record.events],
        booked_at=r.booked_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def snapshot(record: ShipmentRecord) -> dict[str, Any]:
    """The outbox payload: the shipment as the API shows it, without the timeline (each event says what changed)."""
    body: dict[str, Any] = msgspec.to_builtins(view(record))
    body.pop("timeline")
    return body
