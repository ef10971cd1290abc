"""Fees the post collected from citizens on delivery (COD): recorded once per shipment, or held for reconciliation.

A collection is money received only when the post reports, for a shipment that can still collect, the amount that
was booked (``state.cod_verdict``). Anything else the post reports (another amount, a collection on a shipment booked
without COD, cancelled or returned) is a ``cod_exceptions`` row: recorded with the reported amount and the reason,
shown on the shipment and the dossier, announced (``shipment.cod_exception``) and counted for operators, but never a
collection: no receipt, no ``shipment.cod_collected``, nothing in the dossier's collected total.

The receipt issuer finds the collections that still need a receipt with ``without_receipt``. Reconciling against the
post's COD statements is separate: these rows are what the post told us it collected.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postal import StatusEvent
from gateway.ids import new_id
from gateway.store import dialect
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as st

from . import transitions, views
from .state import dedupe_key
from .views import C, ShipmentRecord

log = logging.getLogger("gateway.shipments")

X = st.cod_exceptions.c
OPEN = "open"


def _insert(tx: AsyncConnection) -> Any:
    return dialect.inserter(tx)


async def record(tx: AsyncConnection, shipment: ShipmentRecord, event: StatusEvent, now: datetime) -> bool:
    """Record the collection a delivered event reports; ``False`` if the shipment already has one."""
    row = shipment.row
    statement = (
        _insert(tx)(st.cod_collections)
        .values(
            id=new_id("cod"),
            shipment_id=row.id,
            portal_id=row.portal_id,
            agency_id=row.agency_id,
            dossier_code=row.dossier_code,
            procedure_code=row.procedure_code,
            amount=event.cod_amount,
            collected_at=event.time,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[C.shipment_id])
        .returning(C.id)
    )
    collection_id = (await tx.execute(statement)).scalar_one_or_none()
    if collection_id is None:
        return False
    fresh = await views.load(tx, row.id, timeline=False)
    assert fresh is not None and fresh.collection is not None
    await transitions.announce(
        tx,
        fresh,
        "shipment.cod_collected",
        now,
        {"cod_collection": msgspec.to_builtins(views.collection_view(fresh.collection))},
    )
    return True


async def hold(
    tx: AsyncConnection,
    shipment: ShipmentRecord,
    event: StatusEvent,
    reason: str,
    status: str,
    source: str,
    now: datetime,
) -> bool:
    """Hold the collection an event reports for reconciliation, once per event; ``False`` if already held."""
    row = shipment.row
    statement = (
        _insert(tx)(st.cod_exceptions)
        .values(
            id=new_id("cdx"),
            shipment_id=row.id,
            portal_id=row.portal_id,
            agency_id=row.agency_id,
            dossier_code=row.dossier_code,
            reason=reason,
            booked_amount=row.cod_amount,
            reported_amount=event.cod_amount,
            shipment_status=status,
            event_key=dedupe_key(event),
            raw_code=event.code,
            reported_at=event.time,
            source=source,
            status=OPEN,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[X.event_key])
        .returning(X.id)
    )
    exception_id = (await tx.execute(statement)).scalar_one_or_none()
    if exception_id is None:
        return False
    log.warning(
        "COD report held for reconciliation",
        extra={
            "shipment_id": row.id,
            "reason": reason,
            "booked": row.cod_amount,
            "reported": event.cod_amount,
            "status": status,
            "source": source,
        },
    )
    fresh = await views.load(tx, row.id, timeline=False)
    assert fresh is not None
    held = next(x for x in fresh.cod_exceptions if x.id == exception_id)
    await transitions.announce(
        tx, fresh, "shipment.cod_exception", now, {"cod_exception": msgspec.to_builtins(views.exception_view(held))}
    )
    return True


async def without_receipt(conn: AsyncConnection, limit: int = 100) -> list[Row[Any]]:
    """COD collections no receipt was issued for yet, oldest first: the receipt issuer's work list."""
    query = select(st.cod_collections).where(C.receipt_id.is_(None)).order_by(C.collected_at, C.id).limit(limit)
    return list((await conn.execute(query)).all())


async def mark_receipted(tx: AsyncConnection, collection_id: str, receipt_id: str) -> bool:
    """Link a collection to its receipt; ``False`` if another issuer linked it first (then roll back yours)."""
    result = await tx.execute(
        update(st.cod_collections).where(C.id == collection_id, C.receipt_id.is_(None)).values(receipt_id=receipt_id)
    )
    return result.rowcount == 1


async def count_open(conn: AsyncConnection) -> int:
    """How many reported collections are held, not yet reconciled."""
    return int((await conn.execute(select(func.count()).where(X.status == OPEN))).scalar_one())


async def open_exceptions(conn: AsyncConnection, limit: int = 1000) -> list[Row[Any]]:
    """The held collections, oldest first, with their agency's code and the shipment's post item code."""
    S = st.shipments.c
    query = (
        select(st.cod_exceptions, ct.agencies.c.code.label("agency_code"), S.item_code)
        .join(ct.agencies, ct.agencies.c.id == X.agency_id)
        .join(st.shipments, S.id == X.shipment_id)
        .where(X.status == OPEN)
        .order_by(X.created_at, X.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())
