"""The portal API's shipment messages. Field constraints here are the first line of validation; addresses,
phones and the post's limits are checked by the service, which names the field it refuses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from adapters.postal import codes as post_codes

Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/\-]+$")]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
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

    street: Annotated[str, Meta(min_length=1, max_length=255)]
    province_code: Annotated[str, Meta(max_length=2)] | None = None
    commune_code: Annotated[str, Meta(max_length=5)] | None = None
    province: Annotated[str, Meta(max_length=2, description="pre-2025 province code")] | None = None
    district: Annotated[str, Meta(max_length=3, description="pre-2025 district code")] | None = None
    ward: Annotated[str, Meta(max_length=5, description="pre-2025 ward code")] | None = None


class CitizenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    phone: Annotated[str, Meta(min_length=1, max_length=20)]
    address: AddressIn


class CreateShipment(msgspec.Struct, forbid_unknown_fields=True):
    dossier_code: Code
    direction: Direction
    agency_code: Code
    citizen: CitizenIn
    weight_grams: Annotated[int, Meta(ge=1, le=post_codes.MAX_WEIGHT_GRAMS, description="Whole grams")]
    procedure_code: Code | None = None
    cod_amount: Annotated[int, Meta(ge=0, le=MAX_COD_FIELD, description="Fees collected on delivery, đồng")] = 0
    service: Service = "HCC"
    note: Annotated[str, Meta(max_length=500)] = ""


class CancelShipment(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(max_length=255)] = ""


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
    timeline: list[EventOut]
    booked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ShipmentPage(msgspec.Struct):
    data: list[ShipmentOut]
    next_cursor: str | None
