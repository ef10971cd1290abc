"""A shipment as the area works with it: its columns, its agency's code, the post's events on its timeline, the
collection the post made on delivery and the reports held for reconciliation. Records are immutable; the repository
makes them, and nothing else in the area sees a database row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ShipmentEvent:
    """One event of the post on a shipment's timeline."""

    id: int
    shipment_id: str
    dedupe_key: str
    feed_id: int | None
    raw_code: int
    raw_text: str
    state: str
    occurred_at: datetime
    location: str
    note: str
    cod_amount: int
    source: str
    applied: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class CodCollection:
    """What the post collected on delivery of a shipment, linked to its receipt once issued."""

    id: str
    shipment_id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    procedure_code: str
    amount: int
    collected_at: datetime
    receipt_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CodException:
    """A collection the post reported that is held for reconciliation, never taken as received."""

    id: str
    shipment_id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    reason: str
    booked_amount: int
    reported_amount: int
    shipment_status: str
    event_key: str
    raw_code: int
    reported_at: datetime
    source: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HeldCodReport(CodException):
    """A held report as operators list it: with its agency's code and the parcel's post item code."""

    agency_code: str
    item_code: str | None


@dataclass(frozen=True, slots=True)
class CollectionToReceipt:
    """A collection with the citizen its shipment went to, who is the payer on its receipt."""

    id: str
    shipment_id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    procedure_code: str
    amount: int
    citizen_name: str
    citizen_street: str
    citizen_commune_name: str
    citizen_province_name: str


@dataclass(frozen=True, slots=True)
class CatalogueFee:
    """A fee of a procedure in the catalogue; ``amount`` is None when the fee is not fixed."""

    kind: int
    code: str
    name: str
    amount: int | None


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    portal_id: str
    agency_id: str
    agency_code: str
    dossier_code: str
    procedure_code: str
    direction: str
    status: str
    status_code: int | None
    status_text: str
    status_at: datetime | None
    service_code: str
    weight_grams: int
    cod_amount: int
    note: str
    citizen_name: str
    citizen_phone: str
    citizen_street: str
    citizen_province_code: str
    citizen_province_name: str
    citizen_commune_code: str
    citizen_commune_name: str
    citizen_admin_version: str
    agency_name: str
    agency_phone: str
    agency_street: str
    agency_province_code: str
    agency_province_name: str
    agency_commune_code: str
    agency_commune_name: str
    agency_admin_version: str
    original_id: str | None
    item_code: str | None
    postage: int | None
    status_reason: str
    booked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    events: tuple[ShipmentEvent, ...] = ()  # the timeline, oldest first (empty when not read)
    collection: CodCollection | None = None
    cod_exceptions: tuple[CodException, ...] = ()  # collections reported but held (``cod``)
