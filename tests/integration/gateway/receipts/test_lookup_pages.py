"""The public lookup: a real browser finds a receipt by its code; the page says whether the signature holds and
whether the receipt was replaced; uploaded XML is judged, tampered files clearly invalid; a wrong code reveals
nothing; the lookup is rate limited per client address."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.support.api import key
from tests.support.processes import Process
from tests.support.receipts import paid_payment, receipt_of
from tests.support.services import free_port
from tests.support.stack import Stack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
async def test_a_browser_finds_a_receipt_by_its_code(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{stack.gateway_url}/tra-cuu")
            await page.fill("#ma", receipt["lookup_code"].lower())
            await page.click("#lookup")
            await page.wait_for_url(f"**/tra-cuu/{receipt['lookup_code']}")
            assert "có hiệu lực" in await page.inner_text("#receipt-state")
            assert "Chữ ký số hợp lệ" in await page.inner_text("#signature")
            body = await page.inner_text("body")
            assert "Nguyễn Thị Hồng Nhung" in body and "Một trăm năm mươi nghìn đồng" in body
            assert f"{receipt['number']:07d}" in body
            async with page.expect_download() as download:
                await page.click("#download-xml")
            assert (await download.value).suggested_filename.endswith(".xml")

            await page.goto(f"{stack.gateway_url}/tra-cuu")
            await page.fill("#ma", "AAAAAAAAAAAAAAAA")
            await page.click("#lookup")
            assert "Không tìm thấy biên lai" in await page.inner_text("#message")
        finally:
            await browser.close()


async def test_the_page_says_when_a_receipt_was_replaced(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    payment = await paid_payment(api, hub)
    original = await receipt_of(api, payment["id"])
    new = (
        await api.post(f"/v1/receipts/{original['id']}/replace", json={"reason": "Sai địa chỉ"}, headers=key())
    ).json()
    page = await public.get(f"/tra-cuu/{original['lookup_code']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "bị hủy và được thay thế" in page.text and "Sai địa chỉ" in page.text
    assert f"/tra-cuu/{new['lookup_code']}" in page.text
    replacement = await public.get(f"/tra-cuu/{new['lookup_code']}")
    assert "Thay thế cho biên lai" in replacement.text and f"/tra-cuu/{original['lookup_code']}" in replacement.text
    assert "Thay thế cho biên lai mẫu số" in replacement.text  # the receipt's own TTBLLQuan, rendered
    pdf = await public.get(f"/tra-cuu/{new['lookup_code']}/bien-lai.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xml = await public.get(f"/tra-cuu/{new['lookup_code']}/bien-lai.xml")
    assert xml.status_code == 200 and b"<TCBLai>1</TCBLai>" in xml.content


async def test_wrong_codes_get_the_same_page(public: httpx.AsyncClient) -> None:
    answers = [
        await public.get(path)
        for path in (
            "/tra-cuu/AAAAAAAAAAAAAAAA",
            "/tra-cuu/not-a-code",
            "/tra-cuu/%3Cscript%3E",
            "/tra-cuu/AAAAAAAAAAAAAAAA/bien-lai.xml",
            "/tra-cuu/short/bien-lai.pdf",
            "/tra-cuu?ma=%27%3B--",
        )
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert "<script>" not in answers[0].text


async def test_uploaded_xml_is_verified_and_tampering_is_invalid(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    xml = (await api.get(f"/v1/receipts/{receipt['id']}.xml")).content

    good = await public.post("/tra-cuu/kiem-tra", files={"tep": ("bien-lai.xml", xml, "application/xml")})
    assert good.status_code == 200 and "Tệp hợp lệ" in good.text and "có trong hệ thống" in good.text

    tampered = xml.replace(b"<TgTien>150000</TgTien>", b"<TgTien>150001</TgTien>")
    assert tampered != xml
    for document in (
        tampered,
        xml.replace(b"Nguy", b"Nguu", 1),
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><BLai>&e;</BLai>",
        b"\xff\xfe not xml at all",
        b"<BLai/>",
    ):
        bad = await public.post("/tra-cuu/kiem-tra", files={"tep": ("x.xml", document, "application/xml")})
        assert bad.status_code == 200 and "không hợp lệ" in bad.text, document[:60]
        assert "root:" not in bad.text
    empty = await public.post("/tra-cuu/kiem-tra", data={"nothing": "here"})
    assert empty.status_code == 400 and "không hợp lệ" in empty.text


async def test_the_lookup_is_rate_limited_per_client(stack: Stack) -> None:
    """A gateway with a budget of 5 lookups a minute answers the sixth with 429, whatever X-Forwarded-For says."""
    port = free_port()
    env = {**stack.gateway_env(), "LOOKUP_RATE_LIMIT": "5", "QUEUE_NAME": f"gwtest:limit:{secrets.token_hex(4)}"}
    env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    gateway = Process(f"gateway-limited-{stack.backend}", ["gateway", "serve", "--port", str(port)], env, stack.workdir)
    gateway.start()
    try:
        await asyncio.to_thread(gateway.wait_http, f"http://127.0.0.1:{port}/health/live")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            codes = []
            for i in range(8):
                spoofed = {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}
                codes.append((await client.get("/tra-cuu/AAAAAAAAAAAAAAAA", headers=spoofed)).status_code)
            assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3, codes
            limited = await client.get("/tra-cuu")
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert "Quá nhiều yêu cầu" in limited.text
    finally:
        gateway.stop()


async def test_a_file_over_the_limit_is_said_to_be_too_large(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """A file larger than any receipt gets 413 and says so; a receipt file larger than the API's body limit is
    still checked."""
    too_large = b"<BLai>" + b"x" * 2_100_000 + b"</BLai>"
    page = await public.post("/tra-cuu/kiem-tra", files={"tep": ("bien-lai.xml", too_large, "application/xml")})
    assert page.status_code == 413 and "quá lớn" in page.text and "không có tệp" not in page.text

    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    xml = (await api.get(f"/v1/receipts/{receipt['id']}.xml")).content
    large = xml + b"<!--" + b" " * 100_000 + b"-->"  # a comment after the receipt: the signed data is unchanged
    page = await public.post("/tra-cuu/kiem-tra", files={"tep": ("bien-lai.xml", large, "application/xml")})
    assert page.status_code == 200 and "Tệp hợp lệ" in page.text


async def test_a_code_is_read_the_same_way_in_the_path_and_the_form(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    payment = await paid_payment(api, hub)
    code = (await receipt_of(api, payment["id"]))["lookup_code"]
    grouped = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower()
    for written in (code.lower(), grouped, f" {code[:8]} {code[8:]} ".lower()):
        by_form = await public.get("/tra-cuu", params={"ma": written}, follow_redirects=True)
        assert by_form.status_code == 200 and f"/tra-cuu/{code}/bien-lai.xml" in by_form.text, written
        by_path = await public.get(f"/tra-cuu/{written.strip()}")
        assert by_path.status_code == 200 and f"/tra-cuu/{code}/bien-lai.xml" in by_path.text, written
    assert (await public.get(f"/tra-cuu/{code.lower()}/bien-lai.xml")).status_code == 200
    assert (await public.get(f"/tra-cuu/{code.lower()}/bien-lai.pdf")).status_code == 200


async def test_reasons_are_given_in_vietnamese(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    payment = await paid_payment(api, hub)
    receipt = await receipt_of(api, payment["id"])
    xml = (await api.get(f"/v1/receipts/{receipt['id']}.xml")).content
    tampered = xml.replace(b"<TgTien>150000</TgTien>", b"<TgTien>150001</TgTien>")
    answers = {
        "tampered": (tampered, "chữ ký số không đúng"),
        "unsigned": (xml.split(b"<DSCKS>")[0] + b"<DSCKS><NThu/></DSCKS></BLai>", "chưa được ký số"),
        "not a receipt": (b"<BLai/>", "không phải là biên lai điện tử đúng định dạng"),
        "not xml": (b"\xff\xfe not xml", "không phải là biên lai điện tử đúng định dạng"),
    }
    for what, (document, vietnamese) in answers.items():
        page = await public.post("/tra-cuu/kiem-tra", files={"tep": ("x.xml", document, "application/xml")})
        verdict = page.text.split('id="verdict"', 1)[1].split("</p>", 1)[0]
        assert vietnamese in verdict, what
        for english in ("signature", "changed", "reference", "expected", "schema", "XML", "not "):
            assert english not in verdict, (what, english)


async def test_the_public_renderings_mask_the_id_number_and_the_xml_stays_signed(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    import io

    import pypdf

    payment = await paid_payment(api, hub)
    code = (await receipt_of(api, payment["id"]))["lookup_code"]
    page = await public.get(f"/tra-cuu/{code}")
    pdf = await public.get(f"/tra-cuu/{code}/bien-lai.pdf")
    pdf_text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    for rendering in (page.text, pdf_text):
        assert "001203004567" not in rendering and "********4567" in rendering
    assert b"<MDDanh>001203004567</MDDanh>" in (await public.get(f"/tra-cuu/{code}/bien-lai.xml")).content
