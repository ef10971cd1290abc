"""Bad input of any kind gets a problem+json with a stable code and the offending field, and stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import counts, key
from tests.support.stack import Stack, payment_body

LINE = {"kind": "le_phi", "code": "LP-KD-01", "name": "Lệ phí", "amount": 100_000}


def fees(*amounts: Any) -> list[dict[str, Any]]:
    return [
        {**LINE, "amount": amounts[0]},
        *[{**LINE, "kind": "phi", "code": "PHI-KD-02", "amount": a} for a in amounts[1:]],
    ]


CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("zero amount", {"fees": fees(100_000, 0), "total": 100_000}, 400, "invalid_request", "fees[1].amount"),
    ("negative amount", {"fees": fees(100_000, -5), "total": 99_995}, 400, "invalid_request", "fees[1].amount"),
    ("fractional đồng", {"fees": fees(100_000, 1.5), "total": 100_001}, 400, "invalid_request", "fees[1].amount"),
    ("amount as text", {"fees": fees(100_000, "50000"), "total": 150_000}, 400, "invalid_request", "fees[1].amount"),
    ("total differs", {"total": 150_001}, 422, "total_mismatch", "total"),
    ("no fee lines", {"fees": [], "total": 1}, 400, "invalid_request", "fees"),
    ("empty dossier code", {"dossier_code": ""}, 400, "invalid_request", "dossier_code"),
    ("oversized dossier code", {"dossier_code": "X" * 65}, 400, "invalid_request", "dossier_code"),
    ("oversized payer name", {"payer": {"name": "N" * 256}}, 400, "invalid_request", "payer.name"),
    ("bad id number", {"payer": {"name": "A", "id_number": "12345"}}, 400, "invalid_request", "payer.id_number"),
    ("unknown field", {"surprise": 1}, 400, "invalid_request", ""),
    ("return url not http", {"return_url": "javascript:alert(1)"}, 400, "invalid_request", "return_url"),
    ("unknown agency", {"agency_code": "999.99.99.X99"}, 422, "unknown_agency", "agency_code"),
    ("unknown procedure", {"procedure_code": "9.999999"}, 422, "unknown_procedure", "procedure_code"),
    (
        "fee not in catalogue",
        {"fees": [{**LINE, "code": "NOPE"}], "total": 100_000},
        422,
        "unknown_fee",
        "fees[0].code",
    ),
    ("fee of wrong kind", {"fees": [{**LINE, "kind": "phi"}], "total": 100_000}, 422, "unknown_fee", "fees[0].code"),
    (
        "fixed fee changed",
        {"fees": [{**LINE, "amount": 99_000}], "total": 99_000},
        422,
        "fee_amount_mismatch",
        "fees[0].amount",
    ),
    ("expiry beyond the schema", {"expires_in": 10**9}, 400, "invalid_request", "expires_in"),
    # what a receipt cannot carry is refused here, not found later by the receipt issuer
    ("dossier code longer than a receipt's", {"dossier_code": "X" * 51}, 400, "invalid_request", "dossier_code"),
    ("procedure code longer than a receipt's", {"procedure_code": "1" * 51}, 400, "invalid_request", "procedure_code"),
    (
        "control character in the payer's name",
        {"payer": {"name": "Nguyễn\u0007An"}},
        400,
        "invalid_request",
        "payer.name",
    ),
    ("blank payer name", {"payer": {"name": "  \u00a0\u3000 "}}, 400, "invalid_request", "payer.name"),
    (
        "id number with a trailing newline",
        {"payer": {"name": "A", "id_number": "001203004567\n"}},
        400,
        "invalid_request",
        "payer.id_number",
    ),
    (
        "id number in other digits",
        {"payer": {"name": "A", "id_number": "\u0660" * 12}},
        400,
        "invalid_request",
        "payer.id_number",
    ),
    (
        "tax code with a trailing newline",
        {"payer": {"name": "A", "tax_code": "0101234567\n"}},
        400,
        "invalid_request",
        "payer.tax_code",
    ),
    (
        "control character in the payer's address",
        {"payer": {"name": "A", "address": "12 Hàng Bạc\u001b"}},
        400,
        "invalid_request",
        "payer.address",
    ),
    ("blank fee name", {"fees": [{**LINE, "name": " \t "}], "total": 100_000}, 400, "invalid_request", "fees[0].name"),
    (
        "control character in a fee name",
        {"fees": [{**LINE, "name": "Lệ phí\u0008"}], "total": 100_000},
        400,
        "invalid_request",
        "fees[0].name",
    ),
    ("control character in the description", {"description": "Nộp phí\u0001"}, 400, "invalid_request", "description"),
    (
        "return url with a trailing newline",
        {"return_url": "https://dvc.example.vn/\n"},
        400,
        "invalid_request",
        "return_url",
    ),
    ("expiry beyond the gateway's range", {"expires_in": 8 * 86400}, 422, "expiry_out_of_range", "expires_in"),
]


@pytest.mark.parametrize(("name", "change", "status", "code", "field"), CASES, ids=[c[0] for c in CASES])
async def test_an_invalid_payment_is_refused_and_stores_nothing(
    api: httpx.AsyncClient, stack: Stack, name: str, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = await counts(stack)
    response = await api.post("/v1/payments", json=payment_body(**change), headers=key())
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    if field:
        assert problem["field"] == field
    assert await counts(stack) == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"dossier_code": ', "application/json", 400, "malformed_json"),
        (b"not json at all", "application/json", 400, "malformed_json"),
        (b"[1, 2, 3]", "application/json", 400, "invalid_request"),
        (b"dossier_code=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"a": 1}', "text/plain", 415, "unsupported_media_type"),
        (b'{"pad": "' + b"x" * 70_000 + b'"}', "application/json", 413, "body_too_large"),
    ],
    ids=["truncated", "garbage", "array", "form", "text", "oversized"],
)
async def test_unreadable_bodies_are_refused(
    api: httpx.AsyncClient, stack: Stack, body: bytes, content_type: str, status: int, code: str
) -> None:
    before = await counts(stack)
    response = await api.post("/v1/payments", content=body, headers={**key(), "Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await counts(stack) == before


async def test_a_refused_request_leaves_its_key_free_for_a_corrected_retry(api: httpx.AsyncClient) -> None:
    headers = key()
    bad = await api.post("/v1/payments", json=payment_body(total=1), headers=headers)
    assert bad.status_code == 422
    good = await api.post("/v1/payments", json=payment_body(), headers=headers)
    assert good.status_code == 201


async def test_nul_characters_are_refused_wherever_they_come(api: httpx.AsyncClient, stack: Stack) -> None:
    before = await counts(stack)
    body = payment_body()
    body["payer"]["name"] = "Nguyễn\u0000"
    for response in (
        await api.post("/v1/payments", json=body, headers=key()),
        await api.get("/v1/payments", params={"dossier_code": "a\x00b"}),
        await api.get("/v1/payments", params={"cursor": "\x00"}),
        await api.get("/v1/payments/pay_%00"),
        await api.post("/v1/payments/pay_x/cancel", json={"reason": "\u0000"}, headers=key()),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"
    assert await counts(stack) == before


async def test_unknown_routes_and_methods_answer_problems(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = await api.delete("/v1/payments")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    unknown = await api.get("/v1/payments/pay_doesnotexist")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    bad_limit = await api.get("/v1/payments", params={"limit": 0})
    assert bad_limit.status_code == 400 and bad_limit.json()["code"] == "invalid_request"
