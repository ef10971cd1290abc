"""What reconciliation reads of the shipments area: the cash the post collected on delivery in a time window, each
with its parcel's S10 item code and its agency's code (COD volumes are small: one list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gateway import portals
from gateway.store.db import Database
from gateway.store.tables import shipments as st

C = st.cod_collections.c
S = st.shipments.c


@dataclass(frozen=True)
class CodCollected:
    shipment_id: str
    item_code: str
    amount: int
    collected_at: datetime
    agency: str  # the agency's code


async def cod_collected_between(db: Database, since: datetime, until: datetime) -> list[CodCollected]:
    """Collections recorded as collected in ``[since, until)``, in time order."""
    query = (
        select(C.shipment_id, S.item_code, C.amount, C.collected_at, C.agency_id)
        .join(st.shipments, S.id == C.shipment_id)
        .where(C.collected_at >= since, C.collected_at < until)
        .order_by(C.collected_at, C.shipment_id)
    )
    async with db.read() as conn:
        codes = await portals.agency_codes(conn)
        rows = (await conn.execute(query)).all()
    return [
        CodCollected(shipment_id, item_code or "", amount, collected_at, codes.get(agency_id, ""))
        for shipment_id, item_code, amount, collected_at, agency_id in rows
    ]
