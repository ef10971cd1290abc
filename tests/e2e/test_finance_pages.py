"""Finance staff in a real browser: signing in, the dashboard and its chart, resolving a break with a note, the
XLSX download, what a viewer may not do, one agency's staff seeing nothing of another's, the lock-out, an expired
session and a form without its CSRF token."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
import sqlalchemy as sa

from adapters.vntime import now_utc
from gateway.store.tables import reconciliation as rt
from gateway.store.tables.staff import staff_accounts, staff_sessions
from tests.e2e.finance_pages import csrf_token, seed, sign_in, staff
from tests.support.api import rows
from tests.support.services import wait_for
from tests.support.stack import Stack


async def status_of(page: Any, stack: Stack, break_id: str) -> str:
    await page.goto(f"{stack.gateway_url}/finance/breaks/{break_id}")
    return str(await page.inner_text("#status"))


async def download(page: Any, selector: str) -> bytes:
    async with page.expect_download() as info:
        await page.click(selector)
    path = await (await info.value).path()
    with open(path, "rb") as file:
        return file.read()


def xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        " ".join("" if cell is None else str(cell) for cell in row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


async def test_an_officer_sees_the_dashboard_and_resolves_a_break_with_a_note(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    page = await sign_in(browser, stack, await staff(stack, "officer", seeded.agency))
    try:
        answer = await page.goto(f"{stack.gateway_url}/finance/")
        assert answer is not None and "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
        (cookie,) = [c for c in await page.context.cookies() if c["name"] == "finance_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "1.250.000" in await page.inner_text("#collected")
        assert "1.300.000" in await page.inner_text("#settled")
        assert await page.inner_text("#open-breaks") == "2"
        assert await page.locator("svg#chart rect").count() == 60  # two bars a day, 30 days
        assert await page.locator("svg#chart .break-dot").count() == 1
        async with page.expect_navigation():
            await page.click("#open-breaks a")
        ids = await page.locator("#breaks tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert sorted(ids) == sorted(seeded.breaks)
        async with page.expect_navigation():
            await page.click(f"tr[data-id='{seeded.breaks[0]}'] a")
        async with page.expect_navigation():
            await page.click("#resolve")  # no note: the field is marked, nothing changes
        assert await page.get_attribute("#note", "aria-invalid") == "true"
        assert await page.is_visible("#error-note") and await page.inner_text("#status") == "Chưa xử lý"
        await page.fill("#note", "Đã tra soát: giao dịch được hoàn lại cho công dân ngày hôm sau.")
        async with page.expect_navigation():
            await page.click("#resolve")
        await page.wait_for_url(f"**/finance/breaks/{seeded.breaks[0]}")
        assert await page.inner_text("#status") == "Đã giải quyết"
        history = await page.inner_text("#history")
        assert "Đã tra soát" in history and "Đánh dấu đã xử lý" in history
    finally:
        await page.context.close()


async def test_the_breaks_and_totals_download_as_xlsx_with_the_staffs_agency_only(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    page = await sign_in(browser, stack, await staff(stack, "viewer", seeded.agency))
    try:
        totals = xlsx_text(await download(page, "#totals-xlsx"))
        assert seeded.agency in totals and seeded.other not in totals and "1250000" in totals
        await page.goto(f"{stack.gateway_url}/finance/breaks?status=unresolved")
        breaks = xlsx_text(await download(page, "#breaks-xlsx"))
        assert seeded.reference in breaks and seeded.hidden_reference not in breaks
        await page.goto(f"{stack.gateway_url}/finance/runs/{seeded.run}")
        run = await download(page, "#run-csv")
        assert run.startswith(b"\xef\xbb\xbf")  # Excel reads the Vietnamese headers as UTF-8
        text = run.decode("utf-8-sig")
        assert seeded.reference in text and seeded.other not in text and seeded.hidden_reference not in text
    finally:
        await page.context.close()


async def test_a_viewer_has_no_form_and_a_forged_change_is_refused(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    page = await sign_in(browser, stack, await staff(stack, "viewer", seeded.agency))
    try:
        await page.goto(f"{stack.gateway_url}/finance/breaks/{seeded.breaks[0]}")
        assert await page.locator("form#resolve-form, form#assign-form").count() == 0
        answer = await page.request.post(
            f"{stack.gateway_url}/finance/breaks/{seeded.breaks[0]}/resolve",
            form={"csrf_token": await csrf_token(page), "version": "1", "note": "giả mạo"},
            max_redirects=0,
        )
        assert answer.status == 403
        assert await status_of(page, stack, seeded.breaks[0]) == "Chưa xử lý"
        assert "giả mạo" not in await page.inner_text("#history")
    finally:
        await page.context.close()


async def test_staff_of_one_agency_see_nothing_of_anothers(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    page = await sign_in(browser, stack, await staff(stack, "officer", seeded.agency))
    base = stack.gateway_url
    try:
        answer = await page.goto(f"{base}/finance/breaks/{seeded.hidden}")
        assert answer is not None and answer.status == 404
        await page.goto(f"{base}/finance/?agency={seeded.other}")
        assert seeded.other not in await page.inner_text("main") and "9.999.000" not in await page.inner_text("main")
        await page.goto(f"{base}/finance/breaks?agency={seeded.other}")
        assert await page.locator("#breaks tbody tr[data-id]").count() == 0
        await page.goto(f"{base}/finance/runs/{seeded.run}")
        assert seeded.other not in await page.inner_text("main")
        forged = await page.request.post(
            f"{base}/finance/breaks/{seeded.hidden}/resolve",
            form={"csrf_token": await csrf_token(page), "version": "1", "note": "không phải của tôi"},
            max_redirects=0,
        )
        assert forged.status == 404
        for path in (
            f"/finance/exports/breaks/csv?agency={seeded.other}",
            "/finance/exports/breaks/csv",
            f"/finance/exports/totals/csv?agency={seeded.other}",
            f"/finance/exports/runs/{seeded.run}/csv",
        ):
            got = await page.request.get(base + path)
            text = (await got.body()).decode("utf-8-sig")
            assert seeded.other not in text and seeded.hidden_reference not in text and "9999000" not in text
    finally:
        await page.context.close()
    other = await sign_in(browser, stack, await staff(stack, "officer", seeded.other))
    try:
        assert await status_of(other, stack, seeded.hidden) == "Chưa xử lý"  # the forged resolve changed nothing
    finally:
        await other.context.close()


async def test_repeated_failed_sign_ins_lock_the_account_and_say_no_more_than_a_wrong_password(
    browser: Any, stack: Stack
) -> None:
    assert stack.db is not None
    username = await staff(stack, "viewer", "T000.A")
    context = await browser.new_context()
    page = await context.new_page()

    async def attempt(name: str, password: str) -> tuple[int, str]:
        await page.fill("#username", name)
        await page.fill("#password", password)
        async with page.expect_navigation() as sent:
            await page.click("#sign-in")
        answer = await sent.value
        assert answer is not None and "/finance/sign-in" in page.url
        return answer.status, str(await page.inner_text("#message"))

    try:
        await page.goto(f"{stack.gateway_url}/finance/sign-in")
        first = await attempt(username, "sai-mat-khau-roi")
        for _ in range(4):
            assert await attempt(username, "sai-mat-khau-roi") == first
        (account,) = await rows(stack, staff_accounts, staff_accounts.c.username == username)
        assert account.locked_until is not None
        assert await attempt(username, "mat-khau-thu-nghiem-1") == first  # the right one, while locked
        assert await attempt(f"khong-co-{username}", "mat-khau-thu-nghiem-1") == first
        assert first[0] == 401 and "không đúng" in first[1]
    finally:
        await context.close()


async def test_an_expired_session_leads_back_to_sign_in(browser: Any, stack: Stack) -> None:
    username = await staff(stack, "viewer", "T000.A")
    page = await sign_in(browser, stack, username)
    try:
        assert stack.db is not None
        async with stack.db.transaction() as tx:  # half an hour and a minute without a request
            mine = sa.select(staff_accounts.c.id).where(staff_accounts.c.username == username).scalar_subquery()
            await tx.execute(
                staff_sessions.update()
                .where(staff_sessions.c.staff_id == mine)
                .values(last_seen_at=now_utc() - timedelta(minutes=31))
            )
        await page.goto(f"{stack.gateway_url}/finance/breaks?status=open")
        assert "/finance/sign-in?next=%2Ffinance%2Fbreaks%3Fstatus%3Dopen" in page.url
        assert await page.is_visible("#sign-in-form")
    finally:
        await page.context.close()


async def test_a_form_without_its_csrf_token_changes_nothing(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    page = await sign_in(browser, stack, await staff(stack, "officer", seeded.agency))
    url = f"{stack.gateway_url}/finance/breaks/{seeded.breaks[1]}"
    try:
        for token in ({}, {"csrf_token": "not-the-sessions-token"}):
            answer = await page.request.post(
                f"{url}/assign", form={**token, "version": "1", "to": "ai-do"}, max_redirects=0
            )
            assert answer.status == 403
        signed_out = await page.request.post(f"{stack.gateway_url}/finance/sign-out", form={}, max_redirects=0)
        assert signed_out.status == 403
        assert await status_of(page, stack, seeded.breaks[1]) == "Chưa xử lý"  # still signed in, nothing assigned
        assert await page.inner_text("#assigned-to") == "—"
    finally:
        await page.context.close()


async def test_the_pages_fit_a_phone_and_signing_out_ends_the_session(browser: Any, stack: Stack) -> None:
    seeded = await seed(stack)
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page = await sign_in(browser, stack, await staff(stack, "officer", seeded.agency), **phone)
    base = stack.gateway_url
    try:
        for path in (
            "/finance/",
            "/finance/breaks?status=unresolved",
            f"/finance/breaks/{seeded.breaks[1]}",
            f"/finance/runs/{seeded.run}",
            "/finance/runs",
        ):
            await page.goto(base + path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width}px wide on a 390px screen"
        await page.goto(f"{base}/finance/breaks/{seeded.breaks[1]}")
        assert await page.is_visible("#resolve")  # the form is there on a phone too
        await page.click("#sign-out")
        await page.wait_for_url(f"{base}/finance/sign-in")
        await page.goto(f"{base}/finance/breaks")
        assert "/finance/sign-in?next=" in page.url
    finally:
        await page.context.close()


async def test_an_admin_runs_a_day_by_hand_and_an_officer_cannot(browser: Any, stack: Stack) -> None:
    assert stack.db is not None
    admin = await staff(stack, "admin")  # of every agency
    page = await sign_in(browser, stack, admin)
    try:
        await page.goto(f"{stack.gateway_url}/finance/runs")
        async with page.expect_navigation():
            await page.click("#run")  # nothing chosen: both fields marked, nothing queued
        assert await page.get_attribute("#run_day", "aria-invalid") == "true" and await page.is_visible(
            "#error-run_kind"
        )
        await page.select_option("#run_kind", "settlement")
        await page.fill("#run_day", "2020-02-03")  # a day long published, with no payments: an empty file
        await page.click("#run")
        await page.wait_for_selector("#queued")

        async def the_run() -> Any:
            found = await rows(stack, rt.reconciliation_runs, rt.reconciliation_runs.c.started_by == admin)
            return found[0] if found and found[0].status != "running" else None

        run = await wait_for(the_run, timeout=90, what="the run asked for")
        assert run.trigger == "manual" and run.kind == "settlement" and str(run.day) == "2020-02-03"
        await page.reload()
        assert "03/02/2020" in await page.inner_text("#runs")
    finally:
        await page.context.close()
    officer = await sign_in(browser, stack, await staff(stack, "officer"))
    try:
        await officer.goto(f"{stack.gateway_url}/finance/runs")
        assert await officer.locator("#run-form").count() == 0
        forged = await officer.request.post(
            f"{stack.gateway_url}/finance/runs",
            form={"csrf_token": await csrf_token(officer), "run_kind": "cod", "run_day": "2020-02-03"},
            max_redirects=0,
        )
        assert forged.status == 403
    finally:
        await officer.context.close()
