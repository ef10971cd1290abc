"""A citizen in a real browser: the hub's checkout page, paying, and the gateway's return page."""

from __future__ import annotations

from typing import Any

from tests.support.api import create, wait_status
from tests.support.stack import Stack


async def test_a_citizen_pays_at_checkout_and_comes_back_to_the_portal(browser: Any, stack: Stack) -> None:
    async with stack.client() as api:
        payment = await create(api)
        page = await browser.new_page()
        try:
            await page.goto(payment["checkout_url"])
            body = await page.inner_text("body")
            assert payment["dossier_code"] in body and "150.000" in body
            await page.locator("button", has_text="Thanh toán").click()
            await page.wait_for_url(f"{stack.gateway_url}/payments/return*")
            await wait_status(api, payment["id"], "paid")
            await page.reload()
            assert await page.inner_text("#title") == "Thanh toán thành công"
            assert await page.inner_text("#dossier") == payment["dossier_code"]
            back = await page.get_attribute("#back", "href")
            assert back is not None and back.startswith(payment["return_url"])
            assert f"payment_id={payment['id']}" in back and "status=paid" in back
        finally:
            await page.close()


async def test_a_citizen_who_cancels_in_the_browser_sees_it_cancelled(browser: Any, stack: Stack) -> None:
    async with stack.client() as api:
        payment = await create(api)
        page = await browser.new_page()
        try:
            await page.goto(payment["checkout_url"])
            await page.locator("button", has_text="Hủy").click()
            await page.wait_for_url(f"{stack.gateway_url}/payments/return*")
            await wait_status(api, payment["id"], "cancelled")
            await page.reload()
            assert await page.inner_text("#title") == "Giao dịch đã hủy"
        finally:
            await page.close()
