"""The event envelope. A webhook body and a feed entry are the same bytes of the same Struct, so a portal can
switch between push and pull, or use both, and dedupe by ``id``. Pure: the outbox is read in ``repository``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

TEST_TYPE = "webhook.test"


class EventOut(msgspec.Struct):
    """One change of a payment, receipt or shipment, with the resource's snapshot at that change."""

    id: str
    type: str
    created_at: datetime
    dossier_code: str
    sequence: int
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    """An event as the outbox keeps it: its envelope, and where it sits in the feed (``txid``, ``position``)."""

    position: int
    txid: int
    id: str
    portal_id: str
    dossier_code: str
    sequence: int
    type: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ResourceEvent:
    """An event of a dossier with the resource it speaks of: its payload is that resource's snapshot."""

    id: str
    type: str
    sequence: int
    created_at: datetime
    resource_type: str
    resource_id: str
    payload: dict[str, Any]


def envelope(event: StoredEvent) -> EventOut:
    return EventOut(
        id=event.id,
        type=event.type,
        created_at=event.created_at,
        dossier_code=event.dossier_code,
        sequence=event.sequence,
        data=event.payload,
    )


def body(event: EventOut) -> bytes:
    return msgspec.json.encode(event)


def cursor_of(event: StoredEvent) -> str:
    """The feed's cursor just after ``event``."""
    return f"{event.txid}-{event.position}"
