"""Checking a shipment request and turning a stored shipment into the post's order: pure, no I/O.

Every refusal is a ``Refused`` naming the field, raised before anything is stored. The addresses are placed in
the 2025 units (a pre-2025 one converted when the conversion table gives one commune), phones normalised, and
the post's own limits (COD, weight, service) checked here so the post is never asked what it would refuse.
"""

from __future__ import annotations

from typing import Any

from adapters.postal import (
    AddressError,
    CreateOrder,
    InputError,
    Party,
    PhoneError,
    convert_legacy,
    normalise_phone,
    validate_address,
)
from adapters.postal import codes as post_codes
from adapters.postal.addresses import Address
from gateway.kernel import receipt_parts
from gateway.kernel.errors import Refused
from receipts import ReceiptError

from .records import Shipment
from .schemas import AddressIn, CreateShipment
from .state import Direction

CITIZEN = "citizen"


def citizen_address(address: AddressIn) -> Address:
    """The citizen's address in the 2025 units; a legacy one converted, or refused listing its candidates."""
    prefix = f"{CITIZEN}.address"
    modern = address.province_code is not None or address.commune_code is not None
    legacy = address.province is not None or address.district is not None or address.ward is not None
    if modern and legacy:
        raise Refused(
            "invalid_address",
            "give either province_code and commune_code (2025 units) or "
            "province, district and ward (pre-2025 codes), not both",
            field=prefix,
        )
    try:
        if legacy:
            if address.province is None or address.district is None:
                raise AddressError("province" if address.province is None else "district", "is required")
            return convert_legacy(address.province, address.district, address.ward or "", address.street)
        if address.province_code is None or address.commune_code is None:
            missing = "province_code" if address.province_code is None else "commune_code"
            raise AddressError(missing, "is required (or give a pre-2025 province, district and ward)")
        return validate_address(address.province_code, address.commune_code, address.street)
    except AddressError as exc:
        field = f"{prefix}.{exc.field}"
        if exc.candidates:
            candidates = [_candidate(c) for c in exc.candidates]
            raise Refused("address_ambiguous", exc.message, field=field, extra={"candidates": candidates}) from exc
        raise Refused("invalid_address", exc.message, field=field) from exc


def _candidate(address: Address) -> dict[str, str]:
    return {
        "province_code": address.province_code,
        "province_name": address.province_name,
        "commune_code": address.commune_code,
        "commune_name": address.commune_name,
        "admin_version": address.admin_version,
    }


def citizen_phone(phone: str) -> str:
    try:
        return normalise_phone(phone, f"{CITIZEN}.phone")
    except PhoneError as exc:
        raise Refused("invalid_phone", exc.message, field=exc.field) from exc


def check_limits(data: CreateShipment) -> None:
    if data.cod_amount and data.direction != Direction.DELIVER_RESULT:
        # the post collects COD from the receiver: on a dossier sent to the agency, that is the agency itself
        raise Refused(
            "cod_not_allowed",
            "fees are collected on delivery only when the result is delivered to the citizen",
            field="cod_amount",
        )
    if data.cod_amount > post_codes.COD_LIMIT_DONG:
        raise Refused(
            "cod_limit_exceeded",
            f"{data.cod_amount:,} đ is above the post's COD limit of {post_codes.COD_LIMIT_DONG:,} đ",
            field="cod_amount",
        )


def request_columns(data: CreateShipment) -> dict[str, Any]:
    """The columns a shipment takes from its request, every one checked: the post's limits, the citizen's address in
    the 2025 units and phone, and the citizen as the payer of a COD receipt (``gateway.kernel.receipt_parts``)."""
    check_limits(data)
    address = citizen_address(data.citizen.address)
    phone = citizen_phone(data.citizen.phone)
    name = data.citizen.name.strip()
    try:
        receipt_parts.cod_payer(name, address.street, address.commune_name, address.province_name)
    except ReceiptError as exc:
        raise Refused("invalid_address", f"a receipt cannot carry it: {exc}", field=f"{CITIZEN}.address") from exc
    return {
        "dossier_code": data.dossier_code,
        "procedure_code": data.procedure_code or "",
        "direction": data.direction,
        "service_code": data.service,
        "weight_grams": data.weight_grams,
        "cod_amount": data.cod_amount,
        "note": data.note,
        "citizen_name": name,
        "citizen_phone": phone,
        **address_columns(CITIZEN, address),
    }


def agency_party(agency: Any) -> tuple[str, Address]:
    """The agency's phone and address from its settings; an agency not set up for the post is refused."""
    if not agency.province_code or not agency.commune_code or not agency.phone:
        raise Refused(
            "agency_not_postal",
            f"agency {agency.code} has no postal address or phone configured",
            field="agency_code",
        )
    try:
        phone = normalise_phone(agency.phone, "agency.phone")
        address = validate_address(agency.province_code, agency.commune_code, agency.address)
    except InputError as exc:
        raise Refused("agency_not_postal", f"agency {agency.code}: {exc}", field="agency_code") from exc
    return phone, address


def address_columns(side: str, address: Address) -> dict[str, str]:
    return {
        f"{side}_street": address.street,
        f"{side}_province_code": address.province_code,
        f"{side}_province_name": address.province_name,
        f"{side}_commune_code": address.commune_code,
        f"{side}_commune_name": address.commune_name,
        f"{side}_admin_version": address.admin_version,
    }


def _party(row: Shipment, side: str) -> Party:
    address = Address(
        province_code=getattr(row, f"{side}_province_code"),
        province_name=getattr(row, f"{side}_province_name"),
        commune_code=getattr(row, f"{side}_commune_code"),
        commune_name=getattr(row, f"{side}_commune_name"),
        street=getattr(row, f"{side}_street"),
        admin_version=getattr(row, f"{side}_admin_version"),
    )
    return Party(name=getattr(row, f"{side}_name"), phone=getattr(row, f"{side}_phone"), address=address)


def order_of(row: Shipment) -> CreateOrder:
    """The post's order for a stored shipment: the citizen sends a dossier, the agency sends a result."""
    citizen, agency = _party(row, "citizen"), _party(row, "agency")
    sender, receiver = (citizen, agency) if row.direction == Direction.COLLECT_DOSSIER else (agency, citizen)
    what = "Hồ sơ" if row.direction == Direction.COLLECT_DOSSIER else "Kết quả giải quyết hồ sơ"
    return CreateOrder(
        sale_order_code=row.id,
        sender=sender,
        receiver=receiver,
        weight_grams=row.weight_grams,
        service_code=row.service_code,
        content_note=f"{what} {row.dossier_code}",
        delivery_instruction=row.note,
        cod_amount=row.cod_amount,
    )
