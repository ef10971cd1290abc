"""Trust in receipt signatures is pinned: a receipt counts only when signed by a certificate the agency really held
(every one the gateway has loaded for it, current or rotated out) at its signing time, and the public pages say in
Vietnamese which check failed. Forgeries are made with the receipts library, as an attacker would, and uploaded
through the real page."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from playwright.async_api import async_playwright
from sqlalchemy import update

from adapters.vntime import now_utc
from gateway.receipts.keys import ensure_demo_key, load_one
from gateway.store.tables.receipts import receipts
from receipts import SigningKey
from tests.support.api import key
from tests.support.processes import Process
from tests.support.receipt_forgery import amount_changed, impostor_key, resign, signer_certificate
from tests.support.receipts import paid_payment, receipt_of
from tests.support.services import free_port
from tests.support.stack import AGENCY, Stack

from .test_lookup_pages import CHROMIUM_ARGS

FORGED_TOTAL = 9_950_000
NOT_THE_AGENCYS = "không được ký bằng chứng thư số của đơn vị thu"


async def check(public: httpx.AsyncClient, document: bytes) -> httpx.Response:
    page = await public.post("/tra-cuu/kiem-tra", files={"tep": ("bien-lai.xml", document, "application/xml")})
    assert page.status_code == 200, page.text
    return page


async def a_receipt(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> tuple[dict[str, Any], bytes]:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    return receipt, (await api.get(f"/v1/receipts/{receipt['id']}.xml")).content


def agency_key(stack: Stack) -> SigningKey:
    """The agency's real key, as a misused or stolen copy would sign with it."""
    return load_one(stack.receipt_keys_dir, AGENCY.code, now_utc())


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


async def test_a_receipt_re_signed_with_a_certificate_naming_the_agency_is_not_genuine(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    _, xml = await a_receipt(api, hub)
    impostor = impostor_key(xml)
    for forged in (resign(xml, impostor, amount_changed(FORGED_TOTAL, 9_900_000)), resign(xml, impostor)):
        page = await check(public, forged)
        assert "Tệp hợp lệ" not in page.text and "có trong hệ thống" not in page.text
        assert NOT_THE_AGENCYS in page.text
        assert str(FORGED_TOTAL) not in page.text and "9.950.000" not in page.text


async def test_a_genuine_receipt_passes_every_check(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    receipt, xml = await a_receipt(api, hub)
    page = await check(public, xml)
    assert "Tệp hợp lệ" in page.text and "có trong hệ thống và đang có hiệu lực" in page.text
    assert f"/tra-cuu/{receipt['lookup_code']}" in page.text
    assert AGENCY.name in page.text


async def test_the_agencys_own_key_on_other_content_is_not_the_stored_receipt(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient, stack: Stack
) -> None:
    _, xml = await a_receipt(api, hub)
    page = await check(public, resign(xml, agency_key(stack), amount_changed(FORGED_TOTAL, 9_900_000)))
    assert "Tệp hợp lệ" not in page.text
    assert "nội dung khác với biên lai đã lưu" in page.text


async def test_a_receipt_signed_by_the_agency_but_not_issued_here_is_not_found(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient, stack: Stack
) -> None:
    _, xml = await a_receipt(api, hub)
    unknown = resign(xml, agency_key(stack), {"TTChung/MTCuu": "ABCDEFGHIJKLMNOP"})
    page = await check(public, unknown)
    assert "Tệp hợp lệ" not in page.text and "có trong hệ thống" not in page.text
    assert "không tìm thấy biên lai này trong hệ thống" in page.text


class Backdating(SigningKey):
    """A key that signs whatever time it is told, even outside its certificate's validity."""

    def check_valid_at(self, moment: Any) -> None:
        return None


async def test_a_signature_dated_outside_the_certificates_validity_is_refused(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient, stack: Stack
) -> None:
    _, xml = await a_receipt(api, hub)
    real = agency_key(stack)
    backdating = Backdating(real.private_key, real.certificate, at=now_utc())
    before = real.certificate.not_valid_before_utc - timedelta(days=1)
    page = await check(public, resign(xml, backdating, at=before))
    assert "Tệp hợp lệ" not in page.text and "có trong hệ thống" not in page.text
    assert "không có hiệu lực tại thời điểm ký" in page.text


async def test_a_cancelled_or_replaced_receipt_is_said_to_be(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    replaced, replaced_xml = await a_receipt(api, hub)
    new = (await api.post(f"/v1/receipts/{replaced['id']}/replace", json={"reason": "Sai tên"}, headers=key())).json()
    page = await check(public, replaced_xml)
    assert "đã bị hủy và được thay thế" in page.text and f"/tra-cuu/{new['lookup_code']}" in page.text
    assert "đang có hiệu lực" not in page.text

    cancelled, cancelled_xml = await a_receipt(api, hub)
    await api.post(f"/v1/receipts/{cancelled['id']}/cancel", json={"reason": "Thu nhầm"}, headers=key())
    page = await check(public, cancelled_xml)
    assert "đã bị hủy" in page.text and "Thu nhầm" in page.text and "đang có hiệu lực" not in page.text


async def test_the_lookup_page_and_the_pdfs_pin_the_stored_receipt(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient, stack: Stack
) -> None:
    """A stored receipt whose XML was replaced by a re-signed one (a write to the database) is not shown as
    signed: the page, the public PDF and the API's PDF check it against the agency's certificates."""
    receipt, xml = await a_receipt(api, hub)
    assert stack.db is not None
    forged = resign(xml, impostor_key(xml))
    async with stack.db.transaction() as tx:
        await tx.execute(update(receipts).where(receipts.c.id == receipt["id"]).values(xml=forged))
    page = await public.get(f"/tra-cuu/{receipt['lookup_code']}")
    assert page.status_code == 200
    assert "Chữ ký số hợp lệ" not in page.text and NOT_THE_AGENCYS in page.text
    for pdf in (
        await public.get(f"/tra-cuu/{receipt['lookup_code']}/bien-lai.pdf"),
        await api.get(f"/v1/receipts/{receipt['id']}.pdf"),
    ):
        text = pdf_text(pdf.content)
        assert "KHÔNG HỢP LỆ" in text and "hợp lệ, ký bởi" not in text


async def test_a_rotated_certificate_keeps_verifying_the_receipts_it_signed(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient, stack: Stack, tmp_path: Path
) -> None:
    """The agency's key is replaced (a new certificate, the gateway restarted on it): receipts signed under the old
    certificate still verify, and those signed under the new one verify on a gateway that never loaded it."""
    old, old_xml = await a_receipt(api, hub)
    keys = tmp_path / "receipt-keys"
    ensure_demo_key(keys, AGENCY.code, AGENCY.name)
    port = free_port()
    env = {**stack.gateway_env(), "RECEIPT_KEYS_DIR": str(keys), "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    rotated = Process(f"gateway-rotated-{stack.backend}", ["gateway", "serve", "--port", str(port)], env, stack.workdir)
    rotated.start()
    try:
        await asyncio.to_thread(rotated.wait_http, f"http://127.0.0.1:{port}/health/live")
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as new_public,
            stack.client() as new_api,
        ):
            new_api.base_url = httpx.URL(f"http://127.0.0.1:{port}")
            page = await new_public.get(f"/tra-cuu/{old['lookup_code']}")
            assert "Chữ ký số hợp lệ" in page.text, "the old certificate is still the agency's for what it signed"
            assert "Tệp hợp lệ" in (await check(new_public, old_xml)).text

            replacement = await new_api.post(
                f"/v1/receipts/{old['id']}/replace", json={"reason": "Sai địa chỉ"}, headers=key()
            )
            assert replacement.status_code == 201, replacement.text
            new = replacement.json()
        new_xml = (await api.get(f"/v1/receipts/{new['id']}.xml")).content
        assert signer_certificate(new_xml) != signer_certificate(old_xml), "signed under the new certificate"
        assert "Chữ ký số hợp lệ" in (await public.get(f"/tra-cuu/{new['lookup_code']}")).text
        verdict = await check(public, new_xml)
        assert "Tệp hợp lệ" in verdict.text and "có trong hệ thống và đang có hiệu lực" in verdict.text
    finally:
        rotated.stop()


@pytest.mark.browser
async def test_a_citizen_uploads_a_forgery_in_a_browser_and_reads_which_check_failed(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack, tmp_path: Path
) -> None:
    _, xml = await a_receipt(api, hub)
    forged = tmp_path / "bien-lai.xml"
    forged.write_bytes(resign(xml, impostor_key(xml), amount_changed(FORGED_TOTAL, 9_900_000)))
    genuine = tmp_path / "that-bien-lai.xml"
    genuine.write_bytes(xml)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{stack.gateway_url}/tra-cuu")
            await page.set_input_files("#tep", str(forged))
            await page.click("#verify")
            await page.wait_for_url("**/tra-cuu/kiem-tra")
            assert NOT_THE_AGENCYS in await page.inner_text("#verdict")
            states = {k: await page.get_attribute(f"#check-{k}", "data-state") for k in ("signature", "certificate")}
            assert states == {"signature": "passed", "certificate": "failed"}
            assert await page.get_attribute("#check-registry", "data-state") == "not_checked"

            await page.goto(f"{stack.gateway_url}/tra-cuu")
            await page.set_input_files("#tep", str(genuine))
            await page.click("#verify")
            await page.wait_for_url("**/tra-cuu/kiem-tra")
            assert (await page.inner_text("#verdict")).startswith("Tệp hợp lệ")
            await page.click("#registered a")
            assert "Chữ ký số hợp lệ" in await page.inner_text("#signature")
        finally:
            await browser.close()
