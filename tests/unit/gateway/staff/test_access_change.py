"""An account's role and agencies changed (``change_access``, ``gateway staff access``): what is not given stays, a
session signed in before works with the new access at once, the change is an audit entry with the access before and
after, and a change that cannot be made as asked changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.vntime import now_utc
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import AssignedBreaks
from gateway.staff import AccountError, SessionPolicy, StaffSessions, accounts, audit, change_access
from gateway.store.db import Database
from tests.support.staff import FAST, PASSWORD, add_agencies, add_staff


async def _change(db: Database, username: str = "lan", **access: Any) -> bool:
    return await change_access(db, username, now=now_utc(), actor="cli:root", assigned=AssignedBreaks(), **access)


async def _access(db: Database, username: str = "lan") -> tuple[str, bool, tuple[str, ...]]:
    [account] = [a for a in await accounts(db) if a.username == username]
    return account.role, account.all_agencies, account.agencies


async def test_the_role_and_the_agencies_change_apart_or_together(db: Database) -> None:
    await add_staff(db, "lan", "officer", ("A01", "B02"))
    signed = await StaffSessions(db, FAST, SessionPolicy()).sign_in("lan", PASSWORD, client_ip="", now=now_utc())

    assert await _change(db, role="viewer")
    assert await _access(db) == ("viewer", False, ("A01", "B02"))
    assert await _change(db, agencies=["B02"])
    assert await _access(db) == ("viewer", False, ("B02",))
    member = await StaffSessions(db, FAST, SessionPolicy()).resume(signed.token, now=now_utc())
    assert member is not None and (member.role, member.scope) == ("viewer", AgencyScope.of(["B02"]))
    assert await _change(db, role="admin", all_agencies=True)
    assert await _access(db) == ("admin", True, ())
    assert await _change(db, agencies=["A01"])
    assert await _access(db) == ("admin", False, ("A01",))
    assert not await _change(db, role="admin", agencies=["A01"]), "the same access again is no change"

    async with db.read() as conn:
        entries = [e for e in await audit.history(conn, "staff", "lan") if e.action == "staff.access_changed"]
    assert [(e.actor, e.before, e.after) for e in entries][-1] == (
        "cli:root",
        {"role": "admin", "all_agencies": True, "agencies": []},
        {"role": "admin", "all_agencies": False, "agencies": ["A01"]},
    )
    assert len(entries) == 4


@pytest.mark.parametrize(
    ("username", "access", "says"),
    [
        ("lan", {"role": "root"}, "role"),
        ("lan", {"agencies": ["C03"]}, "unknown agency code(s) 'C03'"),
        ("lan", {"agencies": ["A01/x"]}, "malformed"),
        ("lan", {"agencies": ["A01"], "all_agencies": True}, "not both"),
        ("khong-co-ai", {"role": "viewer"}, "no staff account"),
    ],
)
async def test_a_change_that_cannot_be_made_changes_nothing(
    db: Database, username: str, access: dict[str, Any], says: str
) -> None:
    await add_agencies(db, "A01", "B02")
    await add_staff(db, "lan", "officer", ("A01", "B02"))

    with pytest.raises(AccountError, match=re.escape(says)):
        await _change(db, username, **access)

    assert await _access(db) == ("officer", False, ("A01", "B02"))
    async with db.read() as conn:
        assert [e.action for e in await audit.history(conn, "staff", "lan")] == ["staff.created"]
