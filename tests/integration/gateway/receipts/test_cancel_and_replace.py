"""A wrong receipt is cancelled or replaced, never edited; every refusal is clear and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from adapters.vntime import business_day
from gateway.store.tables import outbox as ot
from gateway.store.tables.receipts import receipt_series, receipts
from receipts import validate, verify
from tests.support.api import counts, key
from tests.support.receipts import (
    agency_certificate_pem,
    agency_trust,
    assert_series_gap_free,
    background_settled,
    paid_payment,
    receipt_of,
    xmlsec_verifies,
)
from tests.support.services import wait_for
from tests.support.stack import AGENCY, Stack

INVALID = "invalid_request"


async def state(stack: Stack) -> dict[str, Any]:
    """Everything a refused request must leave as it was, once the background sweeper has settled."""
    await background_settled(stack)
    assert stack.db is not None
    async with stack.db.read() as conn:
        rows = (await conn.execute(select(receipts.c.id, receipts.c.status, receipts.c.replaced_by_id))).all()
        numbers = (await conn.execute(select(func.sum(receipt_series.c.last_number)))).scalar()
    return {"counts": await counts(stack), "receipts": sorted(map(tuple, rows)), "numbers": numbers}


async def issued_receipt(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> dict[str, Any]:
    payment = await paid_payment(api, hub)
    return await receipt_of(api, payment["id"])


async def test_cancel_marks_the_receipt_and_is_idempotent(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    receipt = await issued_receipt(api, hub)
    headers = key()
    first = await api.post(f"/v1/receipts/{receipt['id']}/cancel", json={"reason": "Thu nhầm hồ sơ"}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "Thu nhầm hồ sơ" and body["cancelled_at"]
    again = await api.post(f"/v1/receipts/{receipt['id']}/cancel", json={"reason": "Thu nhầm hồ sơ"}, headers=headers)
    assert again.status_code == 200 and again.json() == body and again.headers["idempotent-replayed"] == "true"

    before = await state(stack)
    twice = await api.post(f"/v1/receipts/{receipt['id']}/cancel", json={"reason": "Lần nữa"}, headers=key())
    assert twice.status_code == 409 and twice.json()["code"] == "receipt_cancelled"
    replace = await api.post(f"/v1/receipts/{receipt['id']}/replace", json={"reason": "Sửa tên"}, headers=key())
    assert replace.status_code == 409 and replace.json()["code"] == "receipt_cancelled"
    assert await state(stack) == before

    assert stack.db is not None
    async with stack.db.read() as conn:
        events = (await conn.execute(select(ot.outbox.c.type).where(ot.outbox.c.resource_id == receipt["id"]))).all()
    assert sorted(e.type for e in events) == ["receipt.cancelled", "receipt.issued"]


async def test_replace_issues_a_corrected_receipt_referring_to_the_original(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    original = await issued_receipt(api, hub)
    correction = {
        "reason": "Sai tên người nộp",
        "payer": {"name": "Nguyễn Thị Hồng Nhung Anh", "id_number": "001203004567", "address": "12 Hàng Bạc, Hà Nội"},
    }
    response = await api.post(f"/v1/receipts/{original['id']}/replace", json=correction, headers=key())
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["replaces_id"] == original["id"] and new["status"] == "issued"
    assert new["payer"]["name"] == "Nguyễn Thị Hồng Nhung Anh" and new["total"] == original["total"]
    assert new["number"] != original["number"] and new["lookup_code"] != original["lookup_code"]
    old = (await api.get(f"/v1/receipts/{original['id']}")).json()
    assert old["status"] == "cancelled" and old["replaced_by_id"] == new["id"]
    assert old["cancel_reason"] == "Sai tên người nộp"
    listed = (await api.get(f"/v1/payments/{original['source_id']}/receipts")).json()
    assert [r["id"] for r in listed] == [original["id"], new["id"]]

    xml = (await api.get(f"/v1/receipts/{new['id']}.xml")).content
    related = validate(xml).find("DLBLai/TTChung/TTBLLQuan")
    assert related is not None
    assert related.findtext("TCBLai") == "1" and related.findtext("KHMSBLCLQuan") == original["template"]
    assert related.findtext("KHBLCLQuan") == original["series"]
    assert related.findtext("SBLCLQuan") == str(original["number"])
    assert related.findtext("NLBLCLQuan") == business_day(datetime.fromisoformat(original["issued_at"])).isoformat()
    assert verify(xml, trusted=agency_trust(stack)).valid
    assert xmlsec_verifies(xml, agency_certificate_pem(stack, AGENCY.code))

    before = await state(stack)
    again = await api.post(f"/v1/receipts/{original['id']}/replace", json=correction, headers=key())
    assert again.status_code == 409 and again.json()["code"] == "receipt_cancelled"
    assert await state(stack) == before
    await assert_series_gap_free(stack)


async def test_corrected_lines_must_keep_the_collected_total(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    receipt = await issued_receipt(api, hub)
    lines = [
        {"kind": "le_phi", "code": "LP-KD-01", "name": "Lệ phí đăng ký hộ kinh doanh", "amount": 100_000},
        {"kind": "phi", "code": "PHI-KD-02", "name": "Phí cung cấp thông tin", "amount": 40_000},
    ]
    before = await state(stack)
    response = await api.post(
        f"/v1/receipts/{receipt['id']}/replace", json={"reason": "Sửa", "lines": lines}, headers=key()
    )
    assert response.status_code == 422 and response.json()["code"] == "receipt_total_mismatch"
    assert response.json()["field"] == "lines"
    assert await state(stack) == before

    lines[1]["amount"] = 50_000
    lines[1]["name"] = "Phí cung cấp thông tin đăng ký"
    fixed = await api.post(
        f"/v1/receipts/{receipt['id']}/replace", json={"reason": "Sửa", "lines": lines}, headers=key()
    )
    assert fixed.status_code == 201 and fixed.json()["lines"][1]["name"] == "Phí cung cấp thông tin đăng ký"


async def test_corrected_lines_must_be_in_the_procedures_catalogue(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    """A replacement states fees as a payment does: from the procedure's catalogue, checked the same way."""
    receipt = await issued_receipt(api, hub)
    fixed = {"kind": "le_phi", "code": "LP-KD-01", "name": "Lệ phí đăng ký hộ kinh doanh", "amount": 100_000}
    open_fee = {"kind": "phi", "code": "PHI-KD-02", "name": "Phí cung cấp thông tin", "amount": 50_000}
    cases = [
        ("not in the catalogue", [fixed, {**open_fee, "code": "PHI-LA"}], "unknown_fee", "lines[1].code"),
        ("of another kind", [fixed, {**open_fee, "kind": "le_phi"}], "unknown_fee", "lines[1].code"),
        (
            "fixed amount changed",
            [{**fixed, "amount": 90_000}, {**open_fee, "amount": 60_000}],
            "fee_amount_mismatch",
            "lines[0].amount",
        ),
        ("twice", [fixed, {**open_fee, "amount": 25_000}, {**open_fee, "amount": 25_000}], "unknown_fee", "lines"),
    ]
    before = await state(stack)
    for case, lines, code, field in cases:
        response = await api.post(
            f"/v1/receipts/{receipt['id']}/replace", json={"reason": "Sửa", "lines": lines}, headers=key()
        )
        assert response.status_code == 422, (case, response.text)
        assert (response.json()["code"], response.json()["field"]) == (code, field), case
    assert await state(stack) == before


async def test_bad_requests_change_nothing(api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack) -> None:
    receipt = await issued_receipt(api, hub)
    before = await state(stack)
    cases = [
        ("/v1/receipts/rcp_unknown/cancel", {"reason": "x"}, 404, "not_found"),
        ("/v1/receipts/rcp_unknown/replace", {"reason": "x"}, 404, "not_found"),
        (f"/v1/receipts/{receipt['id']}/cancel", {}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/cancel", {"reason": ""}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/cancel", {"reason": "x", "extra": 1}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/replace", {"reason": "x", "payer": {"name": ""}}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/replace", {"reason": "x", "lines": []}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/replace", {"reason": "x", "payer": {"name": "A\u0007"}}, 400, INVALID),
        (f"/v1/receipts/{receipt['id']}/replace", {"reason": "x", "payer": {"name": " \u3000"}}, 400, INVALID),
        (
            f"/v1/receipts/{receipt['id']}/replace",
            {"reason": "x", "payer": {"name": "A", "id_number": "001203004567\n"}},
            400,
            "invalid_request",
        ),
        (f"/v1/receipts/{receipt['id']}/cancel", {"reason": "  "}, 400, "invalid_request"),
        (f"/v1/receipts/{receipt['id']}/cancel", {"reason": "Thu nhầm\u0007"}, 400, "invalid_request"),
    ]
    for path, body, status, code in cases:
        response = await api.post(path, json=body, headers=key())
        assert response.status_code == status and response.json()["code"] == code, (path, body, response.text)
    no_key = await api.post(f"/v1/receipts/{receipt['id']}/cancel", json={"reason": "x"})
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    not_json = await api.post(
        f"/v1/receipts/{receipt['id']}/cancel", content=b"reason=x", headers={**key(), "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    async with stack.client(stack.other_api_key) as other:
        theirs = await other.post(f"/v1/receipts/{receipt['id']}/cancel", json={"reason": "x"}, headers=key())
        assert theirs.status_code == 404
    assert await state(stack) == before
    assert (await api.get(f"/v1/receipts/{receipt['id']}")).json()["status"] == "issued"


async def test_a_refunded_payment_has_its_receipt_cancelled(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    refund = await api.post(
        f"/v1/payments/{payment['id']}/refunds", json={"amount": 150_000, "reason": "Hủy hồ sơ"}, headers=key()
    )
    assert refund.status_code == 201, refund.text

    async def cancelled() -> dict[str, Any] | None:
        body = (await api.get(f"/v1/receipts/{receipt['id']}")).json()
        return body if body["status"] == "cancelled" else None

    body = await wait_for(cancelled, timeout=20, what="the refunded payment's receipt cancelled")
    assert body["cancel_reason"] == "Khoản thu đã được hoàn trả toàn bộ" and body["replaced_by_id"] is None


async def test_a_partial_refund_replaces_the_receipt_with_the_amount_kept(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)  # 100,000 đ lệ phí + 50,000 đ phí
    original = await receipt_of(api, payment["id"])

    first = await refund(api, payment["id"], 30_000)
    replaced = await replaced_receipt(api, original["id"])
    new = (await api.get(f"/v1/receipts/{replaced['replaced_by_id']}")).json()
    assert replaced["status"] == "cancelled" and replaced["cancel_reason"] == "Khoản thu đã được hoàn trả một phần"
    assert new["status"] == "issued" and new["replaces_id"] == original["id"] and first["status"] == "succeeded"
    assert new["total"] == 120_000 and new["total_in_words"] == "Một trăm hai mươi nghìn đồng"
    assert [(x["kind"], x["code"], x["amount"]) for x in new["lines"]] == [
        ("le_phi", "LP-KD-01", 100_000),
        ("phi", "PHI-KD-02", 20_000),
    ]
    assert new["payer"] == original["payer"] and new["source_id"] == payment["id"]
    xml = (await api.get(f"/v1/receipts/{new['id']}.xml")).content
    related = validate(xml).find("DLBLai/TTChung/TTBLLQuan")
    assert related is not None and related.findtext("TCBLai") == "1"
    assert (related.findtext("KHBLCLQuan"), related.findtext("SBLCLQuan")) == (
        original["series"],
        str(original["number"]),
    )
    assert validate(xml).findtext("DLBLai/NDBLai/TgTien") == "120000"
    assert verify(xml, trusted=agency_trust(stack)).valid
    assert xmlsec_verifies(xml, agency_certificate_pem(stack, AGENCY.code))

    await refund(api, payment["id"], 60_000)  # 60,000 đ kept: the refund comes off the last lines first
    again = await replaced_receipt(api, new["id"])
    latest = (await api.get(f"/v1/receipts/{again['replaced_by_id']}")).json()
    assert latest["replaces_id"] == new["id"] and latest["total"] == 60_000
    assert [(x["code"], x["amount"]) for x in latest["lines"]] == [("LP-KD-01", 60_000)]

    await refund(api, payment["id"], 60_000)  # the rest: refunded in full, the receipt in force is cancelled

    async def cancelled() -> dict[str, Any] | None:
        body = (await api.get(f"/v1/receipts/{latest['id']}")).json()
        return body if body["status"] == "cancelled" else None

    gone = await wait_for(cancelled, timeout=20, what="the last receipt cancelled after the full refund")
    assert gone["cancel_reason"] == "Khoản thu đã được hoàn trả toàn bộ" and gone["replaced_by_id"] is None
    chain = (await api.get(f"/v1/payments/{payment['id']}/receipts")).json()
    assert [r["id"] for r in chain] == [original["id"], new["id"], latest["id"]]
    assert all(r["status"] == "cancelled" for r in chain)
    assert stack.db is not None
    async with stack.db.read() as conn:
        types = (await conn.execute(select(ot.outbox.c.type).where(ot.outbox.c.resource_id == new["id"]))).scalars()
        assert sorted(types) == ["receipt.issued", "receipt.replaced"]
    await assert_series_gap_free(stack)


async def refund(api: httpx.AsyncClient, payment_id: str, amount: int) -> dict[str, Any]:
    response = await api.post(
        f"/v1/payments/{payment_id}/refunds", json={"amount": amount, "reason": "Thu thừa"}, headers=key()
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def replaced_receipt(api: httpx.AsyncClient, receipt_id: str) -> dict[str, Any]:
    """The receipt once the worker has replaced it."""

    async def replaced() -> dict[str, Any] | None:
        body = (await api.get(f"/v1/receipts/{receipt_id}")).json()
        return body if body["replaced_by_id"] else None

    return await wait_for(replaced, timeout=20, what=f"receipt {receipt_id} replaced")  # type: ignore[no-any-return]
