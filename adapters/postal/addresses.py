"""Addresses in the administrative units in force since 1 July 2025 (34 provinces, 3,321 communes/wards).

Codes are only unique together with their version: many 2025 communes reuse the code of one of the wards
they absorbed (``00008`` was Phường Liễu Giai, it is now Phường Ngọc Hà). So every address carries
``admin_version``, new addresses are checked against the 2025 units only, and a pre-2025 (province, district,
ward) address goes through ``convert_legacy``, which follows the published conversion table and refuses,
listing the candidates, when the old ward was split between several communes.
"""

from __future__ import annotations

import msgspec

from .admin_units import ADMIN_VERSION, Commune, units
from .errors import AddressError

MAX_STREET = 250


class Address(msgspec.Struct, frozen=True, kw_only=True):
    province_code: str
    province_name: str
    commune_code: str
    commune_name: str
    street: str
    admin_version: str = ADMIN_VERSION


def validate_address(province_code: str, commune_code: str, street: str) -> Address:
    """A 2025 address, or ``AddressError`` naming the field that is wrong."""
    data = units()
    province = data.provinces.get(_code(province_code, 2, "province_code"))
    if province is None:
        old = data.legacy_provinces.get(province_code)
        hint = f" ({old.name} before {ADMIN_VERSION}; convert the legacy address)" if old else ""
        raise AddressError("province_code", f"unknown province code {province_code!r}{hint}")
    commune = data.communes.get(_code(commune_code, 5, "commune_code"))
    if commune is None:
        raise AddressError("commune_code", f"unknown commune code {commune_code!r} ({ADMIN_VERSION})")
    if commune.province_code != province.code:
        owner = data.provinces[commune.province_code].name
        raise AddressError(
            "commune_code", f"commune {commune.code} ({commune.name}) is in {owner}, not in {province.name}"
        )
    return _address(commune, _street(street))


def convert_legacy(province: str, district: str, ward: str, street: str) -> Address:
    """The 2025 address of a pre-2025 one, when the conversion table gives a single commune.

    ``ward`` may be empty only for the island districts that had no wards. When the old ward was split,
    ``AddressError.candidates`` holds the possible 2025 addresses for the caller (or citizen) to choose from.
    """
    data = units()
    old_province = data.legacy_provinces.get(_code(province, 2, "province"))
    if old_province is None:
        raise AddressError("province", f"unknown pre-2025 province code {province!r}")
    old_district = data.legacy_districts.get(_code(district, 3, "district"))
    if old_district is None or old_district.province_code != old_province.code:
        raise AddressError("district", f"no district {district!r} in {old_province.name}")
    if ward:
        old_ward = data.legacy_wards.get(_code(ward, 5, "ward"))
        if old_ward is None or old_ward.district_code != old_district.code:
            raise AddressError("ward", f"no ward {ward!r} in {old_district.name}")
    targets = data.conversion.get((old_district.code, ward or ""))
    if not targets:
        raise AddressError("ward", f"a ward is required in {old_district.name}")
    clean_street = _street(street)
    candidates = [_address(data.communes[code], clean_street) for code in targets]
    if len(candidates) > 1:
        names = ", ".join(f"{c.commune_code} {c.commune_name}" for c in candidates)
        raise AddressError(
            "ward", f"ward {ward} was split between {len(candidates)} communes in 2025: {names}", candidates
        )
    return candidates[0]


def commune(code: str) -> Commune | None:
    return units().communes.get(code)


def _address(commune: Commune, street: str) -> Address:
    province = units().provinces[commune.province_code]
    return Address(
        province_code=province.code,
        province_name=province.name,
        commune_code=commune.code,
        commune_name=commune.name,
        street=street,
    )


def _code(value: str, digits: int, field: str) -> str:
    if not isinstance(value, str) or len(value) != digits or not value.isascii() or not value.isdigit():
        raise AddressError(field, f"must be {digits} digits, got {value!r}")
    return value


def _street(street: str) -> str:
    text = " ".join(street.split()) if isinstance(street, str) else ""
    if not text:
        raise AddressError("street", "street address (house number, street, hamlet) is required")
    if len(text) > MAX_STREET:
        raise AddressError("street", f"longer than {MAX_STREET} characters")
    return text
