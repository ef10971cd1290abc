"""What the finance pages' browser tests share: seeded runs and breaks of two agencies of their own, staff
accounts, and a signed-in browser."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from adapters.vntime import business_day, now_utc
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.stack import Stack
from tests.support.staff import PASSWORD, add_staff


@dataclass(frozen=True)
class Seed:
    day: date
    agency: str  # the staff's agency
    other: str  # another agency, never to be seen by them
    run: str
    breaks: tuple[str, str]  # two breaks of ``agency``
    hidden: str  # a break of ``other``
    reference: str  # of breaks[0]
    hidden_reference: str


async def seed(stack: Stack) -> Seed:
    """A run of yesterday (the dashboard's day) for two agencies named for this test alone, with breaks."""
    assert stack.db is not None
    tag = secrets.token_hex(3).upper()
    day = business_day(now_utc()) - timedelta(days=1)
    agency, other = f"T{tag}.A", f"T{tag}.B"
    figures = {"collected": 1_250_000, "settled": 1_300_000, "hub_fee": 13_000, "hub_net": 1_287_000, "refunded": 0}
    run = await add_run(stack.db, day=day, agencies={agency: figures, other: {"collected": 9_999_000}})
    await add_run(stack.db, day=day - timedelta(days=3), agencies={agency: {"collected": 400_000, "settled": 400_000}})
    reference, hidden_reference = f"PG{tag}000001", f"PG{tag}999999"
    first = await add_break(
        stack.db,
        run,
        agency=agency,
        day=day,
        code="missing_in_ours",
        hub_amount=50_000,
        reference=reference,
        facts={"reference": reference, "hub_amount": 50_000},
    )
    second = await add_break(
        stack.db,
        run,
        agency=agency,
        day=day,
        code="amount_mismatch",
        hub_amount=90_000,
        our_amount=80_000,
        reference=f"PG{tag}000002",
    )
    hidden = await add_break(
        stack.db, run, agency=other, day=day, code="duplicate", hub_amount=70_000, reference=hidden_reference
    )
    return Seed(day, agency, other, run, (first, second), hidden, reference, hidden_reference)


async def staff(stack: Stack, role: str, *agencies: str) -> str:
    """A new staff account of ``agencies``; its username (its password is ``PASSWORD``)."""
    assert stack.db is not None
    username = f"{role}-{secrets.token_hex(3)}"
    await add_staff(stack.db, username, role, agencies)
    return username


async def sign_in(browser: Any, stack: Stack, username: str, password: str = PASSWORD, **options: Any) -> Any:
    """A fresh browser context (``options``: Playwright's) signed in as ``username``; its page, on the dashboard."""
    context = await browser.new_context(accept_downloads=True, **options)
    page = await context.new_page()
    await page.goto(f"{stack.gateway_url}/finance/")
    assert "/finance/sign-in" in page.url
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#sign-in")
    await page.wait_for_url(f"{stack.gateway_url}/finance/")
    return page


async def csrf_token(page: Any) -> str:
    """The session's CSRF token, as every form of the page carries it."""
    return str(await page.locator("input[name=csrf_token]").first.get_attribute("value"))
