"""A paid payment gets exactly one signed receipt: schema-valid, verified by libxmlsec1, announced in the outbox,
numbered without gaps, readable as JSON, XML and a PDF that carries the Vietnamese names exactly."""

from __future__ import annotations

import io

import httpx
import pypdf
from sqlalchemy import select

from gateway.store.tables import outbox as ot
from gateway.store.tables.receipts import agency_certificates
from receipts import validate, verify
from tests.support.api import rows
from tests.support.receipts import (
    agency_certificate_pem,
    agency_trust,
    assert_series_gap_free,
    paid_payment,
    receipt_of,
    xmlsec_verifies,
)
from tests.support.stack import AGENCY, Stack

K = agency_certificates.c


async def test_a_paid_payment_gets_one_signed_receipt(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    assert receipt["status"] == "issued" and receipt["source_type"] == "payment"
    assert receipt["source_id"] == payment["id"] and receipt["dossier_code"] == payment["dossier_code"]
    assert receipt["total"] == 150_000 and receipt["total_in_words"] == "Một trăm năm mươi nghìn đồng"
    assert receipt["payer"]["name"] == "Nguyễn Thị Hồng Nhung" and receipt["payer"]["id_number"] == "********4567"
    assert [line["amount"] for line in receipt["lines"]] == [100_000, 50_000]
    assert receipt["template"] == "EBL01" and receipt["series"].endswith("T") and receipt["number"] >= 1
    assert receipt["lookup_url"] == f"{stack.gateway_url}/tra-cuu/{receipt['lookup_code']}"
    assert len(receipt["lookup_code"]) == 16

    same = (await api.get(f"/v1/receipts/{receipt['id']}")).json()
    assert same == receipt

    xml = await api.get(f"/v1/receipts/{receipt['id']}.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    root = validate(xml.content)
    assert root.findtext("DLBLai/TTChung/SBLai") == str(receipt["number"])
    assert root.findtext("DLBLai/TTChung/MTCuu") == receipt["lookup_code"]
    assert root.findtext("DLBLai/NDBLai/TTKhac/MGDich") == payment["hub_transaction_id"]
    verification = verify(xml.content, trusted=agency_trust(stack))
    assert verification.valid
    kept = await rows(stack, agency_certificates, K.fingerprint == verification.certificate_fingerprint)
    assert len(kept) == 1, "the certificate a stored receipt was signed with is kept as its agency's"
    assert xmlsec_verifies(xml.content, agency_certificate_pem(stack, AGENCY.code))

    events = await _events(stack, receipt["id"])
    assert [e.type for e in events] == ["receipt.issued"]
    assert events[0].payload["id"] == receipt["id"] and events[0].payload["number"] == receipt["number"]
    await assert_series_gap_free(stack)


async def test_the_pdf_carries_the_vietnamese_names_exactly(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    payer = {"name": "Trần Thị Ngọc Hương", "id_number": "079190001234", "address": "Số 5 phố Hàng Gai, Hà Nội"}
    payment = await paid_payment(api, hub, payer=payer)
    receipt = await receipt_of(api, payment["id"])
    response = await api.get(f"/v1/receipts/{receipt['id']}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    for expected in (
        "Trần Thị Ngọc Hương",
        "Ủy ban nhân dân phường Hoàn Kiếm",
        "Lệ phí đăng ký hộ kinh doanh",
        "Một trăm năm mươi nghìn đồng",
        "BIÊN LAI THU PHÍ, LỆ PHÍ",
        "Chữ ký số: hợp lệ",
    ):
        assert expected in text, expected


async def test_receipts_are_listed_by_dossier_with_a_cursor(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> None:
    dossier = "000.00.01.H26-LIST-" + __import__("secrets").token_hex(3)
    made = []
    for _ in range(3):
        payment = await paid_payment(api, hub, dossier=dossier)
        made.append((await receipt_of(api, payment["id"]))["id"])
    first = (await api.get("/v1/receipts", params={"dossier_code": dossier, "limit": 2})).json()
    assert [r["id"] for r in first["data"]] == sorted(made, reverse=True)[:2] and first["next_cursor"]
    rest = (await api.get("/v1/receipts", params={"dossier_code": dossier, "cursor": first["next_cursor"]})).json()
    assert [r["id"] for r in rest["data"]] == sorted(made, reverse=True)[2:] and rest["next_cursor"] is None


async def test_another_portal_sees_none_of_them(api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    async with stack.client(stack.other_api_key) as other:
        for path in (
            f"/v1/receipts/{receipt['id']}",
            f"/v1/receipts/{receipt['id']}.xml",
            f"/v1/receipts/{receipt['id']}.pdf",
            f"/v1/payments/{payment['id']}/receipts",
        ):
            response = await other.get(path)
            assert response.status_code == 404 and response.json()["code"] == "not_found", path
        listed = (await other.get("/v1/receipts", params={"dossier_code": payment["dossier_code"]})).json()
        assert listed["data"] == []


async def test_unknown_receipts_and_suffixes_are_not_found(api: httpx.AsyncClient) -> None:
    for path in (
        "/v1/receipts/rcp_nope",
        "/v1/receipts/rcp_nope.xml",
        "/v1/receipts/rcp_nope.pdf",
        "/v1/receipts/rcp_nope.html",
        "/v1/payments/pay_nope/receipts",
    ):
        response = await api.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path


async def _events(stack: Stack, receipt_id: str) -> list:
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(ot.outbox).where(ot.outbox.c.resource_id == receipt_id).order_by(ot.outbox.c.position)
        return list((await conn.execute(query)).all())
