"""What reconciliation reads of the shipments area: the cash the post collected on delivery in a time window, each
with its parcel's S10 item code and its agency's code (COD volumes are small: one list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway import portals
from gateway.store.db import Database

from . import repository


@dataclass(frozen=True)
class CodCollected:
    shipment_id: str
    item_code: str
    amount: int
    collected_at: datetime
    agency: str  # the agency's code


async def cod_collected_between(db: Database, since: datetime, until: datetime) -> list[CodCollected]:
    """Collections recorded as collected in ``[since, until)``, in time order."""
    async with db.read() as conn:
        codes = await portals.agency_codes(conn)
        rows = await repository.cod_collected_rows(conn, since, until)
    return [
        CodCollected(shipment_id, item_code or "", amount, collected_at, codes.get(agency_id, ""))
        for shipment_id, item_code, amount, collected_at, agency_id in rows
    ]
