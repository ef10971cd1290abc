"""The portal API's shipment messages: field types from ``gateway.kernel.types``, checked as the COD receipt and the
post's order will be; addresses, phones and the post's limits are checked by the service, which names the field it
refuses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from adapters.postal import codes as post_codes
from gateway.kernel import receipt_parts
from gateway.kernel.types import TEXT, Code, Name, Note, Text

Direction = Literal["collect_dossier", "deliver_result"]
Service = Literal["HCC", "HCC-EXP"]
Status = Literal[
    "booking",
    "rejected",
    "created",
    "pickup_scheduled",
    "pickup_failed",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_failed",
    "returning",
    "delivered",
    "returned",
    "cancelled",
    "cod_remitted",
]
MAX_COD_FIELD = 1_000_000_000_000  # the field's sanity bound; the post's own limit is checked with a clear problem


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    """A 2025 address (``province_code`` + ``commune_code``), or a pre-2025 one (``province`` + ``district`` +
    ``ward`` codes) that the gateway converts when the published conversion table gives a single commune."""

    street: Annotated[str, Meta(min_length=1, max_length=255, pattern=TEXT)]  # blank: the post's rule, 422
    province_code: Annotated[str, Meta(max_length=2)] | None = None
    commune_code: Annotated[str, Meta(max_length=5)] | None = None
    province: Annotated[str, Meta(max_length=2, description="pre-2025 province code")] | None = None
    district: Annotated[str, Meta(max_length=3, description="pre-2025 district code")] | None = None
    ward: Annotated[str, Meta(max_length=5, description="pre-2025 ward code")] | None = None


class CitizenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    phone: Annotated[str, Meta(min_length=1, max_length=20)]
    address: AddressIn

    def __post_init__(self) -> None:
        receipt_parts.payer(self.name)  # the payer of a COD receipt, and the post's sender or receiver


class CreateShipment(msgspec.Struct, forbid_unknown_fields=True):
    dossier_code: Code
    direction: Direction
    agency_code: Code
    citizen: CitizenIn
    weight_grams: Annotated[int, Meta(ge=1, le=post_codes.MAX_WEIGHT_GRAMS, description="Whole grams")]
    procedure_code: Code | None = None
    cod_amount: Annotated[int, Meta(ge=0, le=MAX_COD_FIELD, description="Fees collected on delivery, đồng")] = 0
    service: Service = "HCC"
    note: Note = ""


class CancelShipment(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text = ""


class AddressOut(msgspec.Struct):
    province_code: str
    province_name: str
    commune_code: str
    commune_name: str
    street: str
    admin_version: str


class PartyOut(msgspec.Struct):
    name: str
    phone: str
    address: AddressOut


class EventOut(msgspec.Struct):
    code: int
    text: str
    state: str
    occurred_at: datetime
    location: str
    note: str
    cod_amount: int
    source: Literal["webhook", "feed", "order"]
    applied: bool


class CodCollectionOut(msgspec.Struct):
    id: str
    amount: int
    collected_at: datetime
    receipt_id: str | None


class CodExceptionOut(msgspec.Struct):
    """A collection the post reported that was not taken as received: held for reconciliation."""

    id: str
    reason: str  # amount_mismatch, no_cod_booked, shipment_cancelled, shipment_returned, shipment_returning, …
    booked_amount: int
    reported_amount: int
    shipment_status: str  # the shipment's status when the report came
    reported_at: datetime
    source: Literal["webhook", "feed", "order"]
    status: Literal["open"]


class ShipmentOut(msgspec.Struct):
    id: str
    status: Status
    status_code: int | None
    status_text: str
    status_at: datetime | None
    status_reason: str
    dossier_code: str
    procedure_code: str
    direction: Direction
    agency_code: str
    service: str
    weight_grams: int
    cod_amount: int
    note: str
    citizen: PartyOut
    agency: PartyOut
    sender: Literal["citizen", "agency"]
    original_id: str | None
    item_code: str | None
    postage: int | None
    cod_collection: CodCollectionOut | None
    cod_exceptions: list[CodExceptionOut]
    timeline: list[EventOut]
    booked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ShipmentPage(msgspec.Struct):
    data: list[ShipmentOut]
    next_cursor: str | None
