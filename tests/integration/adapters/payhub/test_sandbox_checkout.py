"""The citizen's checkout page, rendered and submitted over real HTTP like a browser would."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import lxml.html

from adapters.payhub import Outcome, PayhubClient, read_return
from tests.support.payhub_sandbox import KEY, RETURN_URL, Receiver, init_order


async def open_checkout(client: PayhubClient, reference: str, *amounts: int, **receipt: object) -> str:
    reply = await client.init(init_order(reference, *amounts, **receipt))
    return reply.UrlThanhToan


def forms(page: str) -> dict[str, lxml.html.FormElement]:
    """The page's forms by the text of their submit button."""
    tree = lxml.html.fromstring(page)
    return {form.xpath("string(.//button)").strip(): form for form in tree.forms}


async def test_page_shows_dossier_fees_and_total_in_vietnamese(client: PayhubClient) -> None:
    url = await open_checkout(client, "REF-PAGE", 100_000, 50_000,
                              names=("Lệ phí cấp phiếu", "Phí <b>sao</b> & gửi"))
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)

    text = lxml.html.fromstring(page.text).text_content()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in page.text
    for expected in ("Sở Tư pháp thành phố Hà Nội", "000.00.01.H26-261122-0001", "Cấp phiếu lý lịch tư pháp",
                     "Lệ phí cấp phiếu", "100.000 đ", "50.000 đ", "150.000 đ", "Vietcombank", "Tổng cộng"):
        assert expected in text
    assert "Phí <b>sao</b> & gửi" in text  # shown as text, not markup
    assert "&lt;b&gt;sao&lt;/b&gt; &amp; gửi" in page.text
    assert set(forms(page.text)) == {"Thanh toán", "Hủy giao dịch"}
    assert all(form.method.upper() == "POST" for form in forms(page.text).values())


async def test_paying_redirects_to_the_return_url_with_a_verifiable_result(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = await open_checkout(client, "REF-PAGE-PAY", 150_000)
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(url)
        pay_form = forms(page.text)["Thanh toán"]
        pay_form.inputs["bank_code"].value = "TCB"
        answer = await browser.post(httpx.URL(url).join(pay_form.action), data=dict(pay_form.form_values()))
        again = await browser.get(url)

    location = answer.headers["location"]
    params = dict(parse_qsl(urlsplit(location).query))
    shown = read_return(params, KEY)
    view = (await control.get("/payments/REF-PAGE-PAY")).json()
    [call] = await receiver.wait_for(1)
    assert answer.status_code == 303
    assert location.startswith(RETURN_URL.split("?")[0])
    assert params["portal"] == "demo"  # the return URL's own query is kept
    assert shown.verified
    assert (shown.code, shown.reference, shown.amount) == ("00", "REF-PAGE-PAY", "150000")
    assert shown.transaction_id == view["MaGiaoDich"]
    assert view["MaNganHang"] == "TCB"
    assert call.result is not None and call.result.outcome is Outcome.PAID
    assert again.status_code == 409


async def test_cancelling_redirects_with_24_and_ends_the_order(
    client: PayhubClient, receiver: Receiver
) -> None:
    url = await open_checkout(client, "REF-PAGE-CANCEL", 150_000)
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(url)
        cancel_form = forms(page.text)["Hủy giao dịch"]
        answer = await browser.post(httpx.URL(url).join(cancel_form.action), data={})
        pay_after = await browser.post(f"{url}/pay", data={"bank_code": "VCB"})

    shown = read_return(dict(parse_qsl(urlsplit(answer.headers["location"]).query)), KEY)
    [call] = await receiver.wait_for(1)
    assert answer.status_code == 303
    assert shown.verified and shown.code == "24"
    assert call.result is not None and call.result.raw_code == "24"
    assert pay_after.status_code == 409
    assert (await client.query("REF-PAGE-CANCEL")).outcome is Outcome.EXPIRED


async def test_unknown_bank_and_unknown_page_are_refused(client: PayhubClient) -> None:
    url = await open_checkout(client, "REF-PAGE-BANK", 150_000)
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        bad_bank = await browser.post(f"{url}/pay", data={"bank_code": "NOPE"})
        missing = await browser.get(httpx.URL(url).join("/checkout/not-a-token"))

    assert bad_bank.status_code == 400
    assert missing.status_code == 404
    assert "Không tìm thấy giao dịch" in missing.text
    assert (await client.query("REF-PAGE-BANK")).outcome is Outcome.NOT_PAID


async def test_expired_order_is_no_longer_offered_for_payment(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    url = await open_checkout(client, "REF-PAGE-EXPIRED", 150_000)
    (await control.post("/payments/REF-PAGE-EXPIRED/expire")).raise_for_status()
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)

    assert page.status_code == 409
    assert "Giao dịch đã được xử lý" in page.text
