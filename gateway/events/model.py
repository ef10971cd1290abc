"""The event envelope. A webhook body and a feed entry are the same bytes of the same Struct, so a portal can
switch between push and pull, or use both, and dedupe by ``id``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.engine import Row

from gateway.store.tables import outbox as ot

TEST_TYPE = "webhook.test"


class EventOut(msgspec.Struct):
    """One change of a payment, receipt or shipment, with the resource's snapshot at that change."""

    id: str
    type: str
    created_at: datetime
    dossier_code: str
    sequence: int
    data: dict[str, Any]


# The outbox columns an envelope needs (the rest are delivery bookkeeping).
COLUMNS = (
    ot.outbox.c.position,
    ot.outbox.c.txid,
    ot.outbox.c.id,
    ot.outbox.c.portal_id,
    ot.outbox.c.dossier_code,
    ot.outbox.c.sequence,
    ot.outbox.c.type,
    ot.outbox.c.payload,
    ot.outbox.c.created_at,
)


def envelope(row: Row[Any]) -> EventOut:
    return EventOut(
        id=row.id,
        type=row.type,
        created_at=row.created_at,
        dossier_code=row.dossier_code,
        sequence=row.sequence,
        data=row.payload,
    )


def body(event: EventOut) -> bytes:
    return msgspec.json.encode(event)
