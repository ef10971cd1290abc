"""Fees the post collected from citizens on delivery (COD), recorded once per shipment against the dossier.

The receipt issuer finds the collections that still need a receipt with ``without_receipt`` and marks each one
with ``mark_receipted`` in the transaction that stores the receipt. Reconciling against the post's COD
statements is separate: these rows are what the post told us it collected.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postal import StatusEvent
from gateway.ids import new_id
from gateway.store import shipment_tables as st

from . import transitions, views
from .views import C, ShipmentRecord

log = logging.getLogger("gateway.shipments")


async def record(tx: AsyncConnection, shipment: ShipmentRecord, event: StatusEvent, now: datetime) -> bool:
    """Record the collection a delivered event reports; ``False`` if the shipment already has one."""
    row = shipment.row
    if event.cod_amount != row.cod_amount:
        log.warning(
            "post collected another COD amount than booked",
            extra={"shipment_id": row.id, "booked": row.cod_amount, "collected": event.cod_amount},
        )
    insert = postgresql.insert if tx.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(st.cod_collections)
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
