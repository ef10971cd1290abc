"""Addresses in the 2025 units, conversion of pre-2025 addresses, and phone numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.postal.addresses import Address, convert_legacy, validate_address
from adapters.postal.admin_units import units
from adapters.postal.errors import AddressError, PhoneError
from adapters.postal.phones import MOBILE_PREFIXES, normalise_phone


def test_the_2025_units_are_complete() -> None:
    data = units()
    assert len(data.provinces) == 34
    assert len(data.communes) == 3321
    assert len(data.legacy_provinces) == 63


def test_a_valid_address_carries_names_and_the_version() -> None:
    address = validate_address("79", "25747", "  12  Yersin ")
    assert address == Address(
        province_code="79",
        province_name="Thành phố Hồ Chí Minh",
        commune_code="25747",
        commune_name="Phường Thủ Dầu Một",
        street="12 Yersin",
        admin_version="2025-07",
    )


@pytest.mark.parametrize(
    ("province", "commune", "street", "field"),
    [
        ("99", "00004", "1 Phố", "province_code"),
        ("02", "00004", "1 Phố", "province_code"),  # Hà Giang: merged into Tuyên Quang in 2025
        ("1", "00004", "1 Phố", "province_code"),
        ("01", "99999", "1 Phố", "commune_code"),
        ("01", "0004", "1 Phố", "commune_code"),
        ("01", "00016", "1 Phố", "commune_code"),  # old Phường Ngọc Hà: its code was retired
        ("79", "00004", "1 Phố", "commune_code"),  # a Hà Nội ward under Hồ Chí Minh City
        ("01", "00004", "   ", "street"),
    ],
)
def test_unknown_or_mismatched_codes_name_the_field(province: str, commune: str, street: str, field: str) -> None:
    with pytest.raises(AddressError) as caught:
        validate_address(province, commune, street)
    assert caught.value.field == field


def test_a_ward_whose_code_was_reused_by_the_reform() -> None:
    # Before 2025, 00008 was Phường Liễu Giai (Ba Đình district). In 2025 the merged ward took that code
    # under the name Phường Ngọc Hà, while the old Phường Ngọc Hà (00016) was split and its code retired.
    now = validate_address("01", "00008", "1 Liễu Giai")
    assert now.commune_name == "Phường Ngọc Hà"
    assert units().legacy_wards["00008"].name == "Phường Liễu Giai"
    assert convert_legacy("01", "001", "00008", "1 Liễu Giai") == now
    with pytest.raises(AddressError) as caught:
        convert_legacy("01", "001", "00016", "1 Ngọc Hà")
    assert {c.commune_code for c in caught.value.candidates} == {"00004", "00008"}


def test_a_legacy_address_is_converted_when_unambiguous() -> None:
    address = convert_legacy("01", "001", "00001", "5 Phúc Xá")  # Phường Phúc Xá, Quận Ba Đình
    assert (address.province_code, address.commune_code, address.commune_name) == ("01", "00097", "Phường Hồng Hà")
    assert address.admin_version == "2025-07" and address.street == "5 Phúc Xá"


def test_a_legacy_province_that_was_merged_converts_into_the_new_province() -> None:
    data = units()
    ward = next(
        w
        for w in data.legacy_wards.values()
        if data.legacy_districts[w.district_code].province_code == "02"
        and len(data.conversion[(w.district_code, w.code)]) == 1
    )
    address = convert_legacy("02", ward.district_code, ward.code, "Thôn 1")
    assert address.province_code == "08"  # Hà Giang became part of Tuyên Quang


def test_an_ambiguous_legacy_address_is_refused_with_candidates() -> None:
    with pytest.raises(AddressError) as caught:
        convert_legacy("01", "001", "00019", "1 Điện Biên Phủ")  # Phường Điện Biên went to four wards
    error = caught.value
    assert error.field == "ward"
    assert len(error.candidates) == 4
    assert all(
        isinstance(c, Address) and c.province_code == "01" and c.street == "1 Điện Biên Phủ" for c in error.candidates
    )
    assert "Phường Ba Đình" in str(error)


@pytest.mark.parametrize(
    ("province", "district", "ward", "field"),
    [
        ("99", "001", "00001", "province"),
        ("01", "760", "00001", "district"),
        ("01", "002", "00001", "ward"),
        ("01", "001", "", "ward"),
        ("01", "001", "abc", "ward"),
    ],
)
def test_bad_legacy_codes_name_the_field(province: str, district: str, ward: str, field: str) -> None:
    with pytest.raises(AddressError) as caught:
        convert_legacy(province, district, ward, "1 Phố")
    assert caught.value.field == field


def test_an_island_district_without_wards_converts_to_its_special_zone() -> None:
    assert convert_legacy("48", "498", "", "Đảo Hoàng Sa").commune_name == "Đặc khu Hoàng Sa"


def test_every_legacy_ward_converts_or_lists_its_candidates() -> None:
    data = units()
    for ward in list(data.legacy_wards.values())[::97]:
        district = data.legacy_districts[ward.district_code]
        try:
            address = convert_legacy(district.province_code, district.code, ward.code, "x")
            assert address.commune_code in data.communes
        except AddressError as exc:
            assert len(exc.candidates) > 1


# ---------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("(024) 3825 1234", "02438251234"),
        ("+84-24-3825-1234", "02438251234"),
        ("0868 123 456", "0868123456"),
    ],
)
def test_phones_are_normalised(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "0123456789",
        "0952345678",
        "091234567",
        "09123456789",
        "+1 415 555 0100",
        "09x2345678",
        "0800123456",
        "1900 1234",
    ],
)
def test_non_vietnamese_numbers_are_refused(text: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalise_phone(text, "receiver.phone")
    assert caught.value.field == "receiver.phone"


@given(
    st.sampled_from(sorted(MOBILE_PREFIXES)),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
    st.sampled_from(["0", "+84", "84", "+84 "]),
)
def test_every_mobile_number_normalises_the_same_from_any_prefix(prefix: str, rest: str, lead: str) -> None:
    national = prefix + rest
    assert normalise_phone(lead + national[1:]) == national
