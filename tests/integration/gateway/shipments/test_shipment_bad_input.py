"""Bad shipment requests get a clear problem naming the field and change nothing; addresses in the 2025 units,
pre-2025 addresses converted or refused with their candidates, including a ward whose code the reform reused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import key
from tests.support.shipments import book, counts, shipment_body, wait_shipment
from tests.support.stack import NOT_POSTAL_PROCEDURE, Stack


def citizen(address: dict[str, Any] | None = None, phone: str = "0912345678") -> dict[str, Any]:
    return {
        "name": "Lê Thị Mai",
        "phone": phone,
        "address": address or {"province_code": "01", "commune_code": "00070", "street": "5 Hàng Bạc"},
    }


BAD: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    (
        "unknown province",
        {"citizen": citizen({"province_code": "99", "commune_code": "00070", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.province_code",
    ),
    (
        "merged province",
        {"citizen": citizen({"province_code": "02", "commune_code": "00070", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.province_code",
    ),
    (
        "unknown commune",
        {"citizen": citizen({"province_code": "01", "commune_code": "99999", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.commune_code",
    ),
    (
        "retired commune code",
        {"citizen": citizen({"province_code": "01", "commune_code": "00016", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.commune_code",
    ),
    (
        "commune of another province",
        {"citizen": citizen({"province_code": "79", "commune_code": "00070", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.commune_code",
    ),
    (
        "blank street",
        {"citizen": citizen({"province_code": "01", "commune_code": "00070", "street": "   "})},
        422,
        "invalid_address",
        "citizen.address.street",
    ),
    (
        "both address forms",
        {"citizen": citizen({"province_code": "01", "commune_code": "00070", "province": "01", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address",
    ),
    (
        "no address codes",
        {"citizen": citizen({"street": "5 Hàng Bạc"})},
        422,
        "invalid_address",
        "citizen.address.province_code",
    ),
    (
        "unknown legacy district",
        {"citizen": citizen({"province": "01", "district": "760", "ward": "00001", "street": "x"})},
        422,
        "invalid_address",
        "citizen.address.district",
    ),
    ("foreign phone", {"citizen": citizen(phone="+1 415 555 0100")}, 422, "invalid_phone", "citizen.phone"),
    ("bad mobile prefix", {"citizen": citizen(phone="0952345678")}, 422, "invalid_phone", "citizen.phone"),
    ("zero weight", {"weight_grams": 0}, 400, "invalid_request", "weight_grams"),
    ("too heavy", {"weight_grams": 30_001}, 400, "invalid_request", "weight_grams"),
    ("weight as text", {"weight_grams": "300"}, 400, "invalid_request", "weight_grams"),
    ("negative COD", {"cod_amount": -1}, 400, "invalid_request", "cod_amount"),
    ("COD above the post's limit", {"cod_amount": 50_000_001}, 422, "cod_limit_exceeded", "cod_amount"),
    (
        "COD on a dossier sent to the agency",
        {"direction": "collect_dossier", "cod_amount": 8_000},
        422,
        "cod_not_allowed",
        "cod_amount",
    ),
    ("unknown service", {"service": "EMS"}, 400, "invalid_request", "service"),
    ("unknown direction", {"direction": "both"}, 400, "invalid_request", "direction"),
    ("unknown agency", {"agency_code": "000.00.99.H26"}, 422, "unknown_agency", "agency_code"),
    ("unknown procedure", {"procedure_code": "9.999999"}, 422, "unknown_procedure", "procedure_code"),
    ("procedure not by post", {"procedure_code": NOT_POSTAL_PROCEDURE}, 422, "procedure_not_postal", "procedure_code"),
    ("unknown field", {"colour": "red"}, 400, "invalid_request", None),
    # what the COD receipt or the post cannot carry is refused here, not found after the citizen paid
    ("dossier code longer than a receipt's", {"dossier_code": "X" * 51}, 400, "invalid_request", "dossier_code"),
    ("procedure code longer than a receipt's", {"procedure_code": "1" * 51}, 400, "invalid_request", "procedure_code"),
    ("blank citizen name", {"citizen": {**citizen(), "name": " \u3000 "}}, 400, "invalid_request", "citizen.name"),
    (
        "control character in the citizen's name",
        {"citizen": {**citizen(), "name": "Lê\u0007Mai"}},
        400,
        "invalid_request",
        "citizen.name",
    ),
    (
        "control character in the street",
        {"citizen": citizen({"province_code": "01", "commune_code": "00070", "street": "5 Hàng\u0001Bạc"})},
        400,
        "invalid_request",
        "citizen.address.street",
    ),
    ("control character in the note", {"note": "Gọi trước\u001b"}, 400, "invalid_request", "note"),
]


@pytest.mark.parametrize(("case", "change", "status", "code", "field"), BAD, ids=[b[0] for b in BAD])
async def test_bad_requests_are_refused_and_change_nothing(
    stack: Stack,
    api: httpx.AsyncClient,
    case: str,
    change: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    before = await counts(stack)
    response = await api.post("/v1/shipments", json=shipment_body(**change), headers=key())
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == code and problem["detail"]
    if field is not None:
        assert problem["field"] == field
    assert await counts(stack) == before


async def test_a_procedure_is_required_when_the_agency_has_some_that_may_not_go_by_post(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    """Leaving the procedure out must not skip the rule it carries: the test agency has a procedure that may not go
    by post, so a shipment of that agency names its procedure."""
    body = shipment_body()
    del body["procedure_code"]
    before = await counts(stack)
    response = await api.post("/v1/shipments", json=body, headers=key())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "procedure_required" and response.json()["field"] == "procedure_code"
    assert await counts(stack) == before


async def test_an_agency_whose_procedures_all_go_by_post_needs_no_procedure(stack: Stack) -> None:
    from gateway.portals import service as portals
    from gateway.portals.service import AgencySpec, Fee, Procedure

    assert stack.db is not None
    spec = AgencySpec(
        code="000.00.04.H26",
        name="UBND phường thử bưu chính",
        tax_code="0101234570",
        address="1 Tràng Tiền, Hà Nội",
        treasury_account="3511.0.2",
        treasury_bank_code="KBNN-HN",
        treasury_account_name="UBND phường",
        phone="024 3825 0000",
        province_code="01",
        commune_code="00070",
        procedures=(Procedure(code="1.001193", name="Cấp bản sao", fees=(Fee("LP-HT-01", 2, "Lệ phí", 8_000),)),),
    )
    await portals.upsert_agency(stack.db, spec)
    _, api_key = await portals.create_portal(stack.db, "Cổng chỉ thủ tục bưu chính", [spec.code])
    body = shipment_body(agency_code=spec.code)
    del body["procedure_code"]
    async with stack.client(api_key) as api:
        response = await api.post("/v1/shipments", json=body, headers=key())
    assert response.status_code == 201, response.text
    assert response.json()["procedure_code"] == ""


async def test_the_post_limit_is_accepted_at_exactly_fifty_million(api: httpx.AsyncClient) -> None:
    assert (await book(api, cod_amount=50_000_000))["cod_amount"] == 50_000_000


async def test_a_missing_key_and_a_reused_key_change_nothing(stack: Stack, api: httpx.AsyncClient) -> None:
    before = await counts(stack)
    response = await api.post("/v1/shipments", json=shipment_body())
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"
    assert await counts(stack) == before
    headers = key()
    first = (await api.post("/v1/shipments", json=shipment_body(), headers=headers)).json()
    await wait_shipment(api, first["id"], lambda s: len(s["timeline"]) == 1, "the created event")
    middle = await counts(stack)
    reused = await api.post("/v1/shipments", json=shipment_body(), headers=headers)
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    assert await counts(stack) == middle


async def test_a_legacy_address_is_converted_to_the_2025_units(api: httpx.AsyncClient) -> None:
    legacy = {"province": "01", "district": "001", "ward": "00001", "street": "5 Phúc Xá"}  # Phúc Xá, Ba Đình
    shipment = await book(api, citizen=citizen(legacy))
    address = shipment["citizen"]["address"]
    assert (address["province_code"], address["commune_code"], address["commune_name"]) == (
        "01",
        "00097",
        "Phường Hồng Hà",
    )
    assert address["admin_version"] == "2025-07" and shipment["agency"]["address"]["admin_version"] == "2025-07"


async def test_a_ward_whose_code_the_reform_reused(stack: Stack, api: httpx.AsyncClient) -> None:
    # 00008 was Phường Liễu Giai before July 2025; the merged ward that kept the code is Phường Ngọc Hà.
    legacy = await book(
        api, citizen=citizen({"province": "01", "district": "001", "ward": "00008", "street": "1 Liễu Giai"})
    )
    current = await book(
        api, citizen=citizen({"province_code": "01", "commune_code": "00008", "street": "1 Liễu Giai"})
    )
    for shipment in (legacy, current):
        assert shipment["citizen"]["address"]["commune_name"] == "Phường Ngọc Hà"
        assert shipment["citizen"]["address"]["commune_code"] == "00008"
    # The old Phường Ngọc Hà (00016) was split: its 2025 code no longer exists, and its old address is ambiguous.
    before = await counts(stack)
    response = await api.post(
        "/v1/shipments",
        json=shipment_body(
            citizen=citizen({"province": "01", "district": "001", "ward": "00016", "street": "1 Ngọc Hà"})
        ),
        headers=key(),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "address_ambiguous" and problem["field"] == "citizen.address.ward"
    assert {c["commune_code"] for c in problem["candidates"]} == {"00004", "00008"}
    assert all(c["admin_version"] == "2025-07" for c in problem["candidates"])
    assert await counts(stack) == before


async def test_an_agency_without_a_postal_address_cannot_book(stack: Stack) -> None:
    from gateway.portals import service as portals
    from gateway.portals.service import AgencySpec

    assert stack.db is not None
    spec = AgencySpec(
        code="000.00.03.H26",
        name="UBND xã thử",
        tax_code="0101234569",
        address="Xã thử",
        treasury_account="3511.0.1",
        treasury_bank_code="KBNN-HN",
        treasury_account_name="UBND xã",
    )
    await portals.upsert_agency(stack.db, spec)
    _, api_key = await portals.create_portal(stack.db, "Cổng chưa có bưu chính", [spec.code])
    async with stack.client(api_key) as api:
        before = await counts(stack)
        response = await api.post("/v1/shipments", json=shipment_body(agency_code=spec.code), headers=key())
        assert response.status_code == 422 and response.json()["code"] == "agency_not_postal"
        assert await counts(stack) == before
