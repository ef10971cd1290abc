"""Showing shipments: the one representation used by the API and the outbox."""

from __future__ import annotations

from typing import Any

import msgspec

from .records import CodCollection, CodException, Shipment, ShipmentEvent
from .schemas import AddressOut, CodCollectionOut, CodExceptionOut, EventOut, PartyOut, ShipmentOut
from .state import Direction


def _party(r: Shipment, side: str) -> PartyOut:
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


def event_view(e: ShipmentEvent) -> EventOut:
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


def collection_view(c: CodCollection) -> CodCollectionOut:
    return CodCollectionOut(id=c.id, amount=c.amount, collected_at=c.collected_at, receipt_id=c.receipt_id)


def exception_view(x: CodException) -> CodExceptionOut:
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


def view(r: Shipment) -> ShipmentOut:
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
        agency_code=r.agency_code,
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
        cod_collection=collection_view(r.collection) if r.collection is not None else None,
        cod_exceptions=[exception_view(x) for x in r.cod_exceptions],
        timeline=[event_view(e) for e in r.events],
        booked_at=r.booked_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def snapshot(record: Shipment) -> dict[str, Any]:
    """The outbox payload: the shipment as the API shows it, without the timeline (each event says what changed)."""
    body: dict[str, Any] = msgspec.to_builtins(view(record))
    body.pop("timeline")
    return body
