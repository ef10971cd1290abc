"""The sign-in page in an app of the test's own, on SQLite and PostgreSQL: every refused sign-in is one answer
(a locked account, a wrong password and an unknown username alike), and one client address has a budget of
sign-ins whatever usernames it tries; over it the page answers 429 and checks nothing."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa

from gateway.store.db import Database
from gateway.store.tables.staff import staff_accounts, staff_audit, staff_sessions
from tests.support.staff import PASSWORD, add_staff

from .conftest import LOCKOUT, SIGN_IN_LIMIT, Pages, sign_in


def shown(response: httpx.Response) -> str:
    """The page without what differs on every sending: its CSRF token and the username typed back."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
    return re.sub(r'id="username" name="username" value="[^"]*"', "", text)


async def count(db: Database, table: sa.Table) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_a_locked_account_a_wrong_password_and_an_unknown_username_get_one_answer(pages: Pages) -> None:
    await add_staff(pages.db, "lan")
    await add_staff(pages.db, "hoa")
    wrong = await sign_in(pages.client, "lan", "sai-mat-khau-1")
    unknown = await sign_in(pages.client, "khong-co-ai", PASSWORD)
    for n in range(LOCKOUT):  # the lock-out's failures in a row: locked
        await sign_in(pages.client, "hoa", f"sai-mat-khau-{n}")
    async with pages.db.read() as conn:
        locked_until = (
            await conn.execute(sa.select(staff_accounts.c.locked_until).where(staff_accounts.c.username == "hoa"))
        ).scalar_one()
    assert locked_until is not None
    locked = await sign_in(pages.client, "hoa", PASSWORD)  # the right password, while locked
    locked_wrong = await sign_in(pages.client, "hoa", "sai-mat-khau-2")
    answers = [wrong, unknown, locked, locked_wrong]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({shown(a) for a in answers}) == 1, "a refusal tells something of the account"
    assert "không đúng" in wrong.text and "finance_session" not in str(locked.cookies)
    assert await count(pages.db, staff_sessions) == 0
    right = await sign_in(pages.client, "lan", PASSWORD)
    assert right.status_code == 303 and right.headers["location"] == "/finance/"


async def test_one_address_trying_many_usernames_is_stopped_before_any_password_is_checked(pages: Pages) -> None:
    await add_staff(pages.db, "lan")
    for n in range(SIGN_IN_LIMIT):
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}"}
        assert (await sign_in(pages.client, f"thu-{n}", f"mat-khau-doan-{n}", **spoofed)).status_code == 401
    entries, accounts = await count(pages.db, staff_audit), await count(pages.db, staff_accounts)
    async with pages.db.read() as conn:
        before = (await conn.execute(sa.select(staff_accounts))).all()
    over = await sign_in(pages.client, "lan", PASSWORD)  # the right password: refused all the same, unchecked
    assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 3600
    assert "quá nhiều lần đăng nhập" in over.text and 'id="sign-in-form"' in over.text
    assert "finance_session" not in str(over.cookies)
    async with pages.db.read() as conn:
        after = (await conn.execute(sa.select(staff_accounts))).all()
    assert (await count(pages.db, staff_audit), await count(pages.db, staff_accounts)) == (entries, accounts)
    assert after == before and await count(pages.db, staff_sessions) == 0
    again = await sign_in(pages.client, "lan", PASSWORD, **{"X-Forwarded-For": "203.0.113.50"})
    assert again.status_code == 429


async def test_forged_sign_ins_spend_none_of_the_address_budget(pages: Pages) -> None:
    """Another site's form, posted by staff browsers behind the office's one address, is refused for its missing
    token and leaves the office's budget whole: staff can still sign in."""
    await add_staff(pages.db, "lan")
    entries = await count(pages.db, staff_audit)
    for n in range(SIGN_IN_LIMIT + 5):
        forged = await pages.client.post(
            "/finance/sign-in", data={"username": "lan", "password": f"doan-{n}", "next": "/finance/"}
        )
        assert forged.status_code == 403
    assert await count(pages.db, staff_audit) == entries, "no password was checked"
    right = await sign_in(pages.client, "lan", PASSWORD)
    assert right.status_code == 303
