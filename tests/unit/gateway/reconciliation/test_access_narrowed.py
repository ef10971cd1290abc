"""A change of a staff account's access (disabled, a viewer now, an agency taken off it): in the same transaction,
every unresolved break assigned to it that it may no longer work is open again, assigned to no one, each with the
system's ``break.assignee_dropped`` entry; breaks it may still work, resolved ones and other accounts' are left as
they are. On both engines."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import AssignedBreaks, breaks, findings, get_break
from gateway.store.db import Database
from gateway.store.tables.staff import staff_audit
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.staff import add_staff

ADMIN = breaks.Staffer("quan-tri", AgencyScope.everything())
EVERYTHING = AgencyScope.everything()
BREAKS = AssignedBreaks()


async def _assigned(db: Database, to: str, agency: str, our_agency: str = "", kind: str = "settlement") -> str:
    run = await add_run(db, kind=kind, agencies={agency: {}})
    b = await add_break(db, run, agency=agency, our_agency_code=our_agency or agency, kind=kind, hub_amount=50_000)
    assert (await breaks.assign(db, ADMIN, b, 1, to)).assigned_to == to
    return b


async def _state(db: Database, break_id: str) -> tuple[str, str, int]:
    async with db.read() as conn:
        item = (await get_break(conn, EVERYTHING, break_id)).item
    return item.status, item.assigned_to, item.version


async def _trail(db: Database, break_id: str) -> list[Any]:
    async with db.read() as conn:
        return (await get_break(conn, EVERYTHING, break_id)).history


async def _actions(db: Database) -> list[tuple[str, str, str]]:
    async with db.read() as conn:
        rows = await conn.execute(sa.select(staff_audit).order_by(staff_audit.c.id))
        return [(row.actor, row.action, row.subject_id) for row in rows]


async def _dropped(db: Database, break_id: str, username: str) -> None:
    """The break is open, assigned to no one, its version moved on once, the system's entry last in its trail."""
    assert await _state(db, break_id) == ("open", "", 3)
    *_, entry = await _trail(db, break_id)
    assert (entry.actor, entry.action) == (staff.SYSTEM, "break.assignee_dropped")
    assert entry.before == {"status": "assigned", "assigned_to": username, "resolution": "", "note": ""}
    assert entry.after == {"status": "open", "assigned_to": "", "resolution": "", "note": ""}
    assert username in entry.note


async def test_disabling_an_account_returns_its_open_breaks_to_open(db: Database) -> None:
    await add_staff(db, "quan-tri", "admin")
    await add_staff(db, "hoa", "officer", ("A01",))
    await add_staff(db, "lan", "officer", ("A01",))
    settlement = await _assigned(db, "hoa", "A01")
    cod = await _assigned(db, "hoa", "A01", kind="cod")
    resolved = await _assigned(db, "hoa", "A01")
    await breaks.resolve(db, ADMIN, resolved, 2, "đã đối chiếu")
    others = await _assigned(db, "lan", "A01")

    assert await staff.set_active(db, "hoa", False, now=now_utc(), actor="cli:root", assigned=BREAKS)

    await _dropped(db, settlement, "hoa")
    await _dropped(db, cod, "hoa")
    assert await _state(db, resolved) == ("resolved", "hoa", 3), "a resolved break keeps who resolved it"
    assert await _state(db, others) == ("assigned", "lan", 2)
    *_, disabled, first, second = await _actions(db)
    assert disabled == ("cli:root", "staff.disabled", "hoa"), "the account's change, then what followed from it"
    assert {first, second} == {(staff.SYSTEM, "break.assignee_dropped", b) for b in (settlement, cod)}
    assert not await staff.set_active(db, "hoa", False, now=now_utc(), actor="cli:root", assigned=BREAKS)
    assert await staff.set_active(db, "hoa", True, now=now_utc(), actor="cli:root", assigned=BREAKS)
    assert await _state(db, settlement) == ("open", "", 3), "enabling it again assigns nothing back"


async def test_an_account_made_a_viewer_no_longer_keeps_its_breaks(db: Database) -> None:
    await add_staff(db, "quan-tri", "admin")
    await add_staff(db, "hoa", "officer", ("A01",))
    await add_staff(db, "lan", "officer", ("A01",))
    mine = await _assigned(db, "hoa", "A01")
    others = await _assigned(db, "lan", "A01")

    changed = await staff.change_access(db, "hoa", role="viewer", now=now_utc(), actor="cli:root", assigned=BREAKS)

    assert changed
    await _dropped(db, mine, "hoa")
    assert await _state(db, others) == ("assigned", "lan", 2)
    *_, entry = await _actions(db)
    assert entry == (staff.SYSTEM, "break.assignee_dropped", mine)
    async with db.read() as conn:
        access = [e for e in await staff.history(conn, "staff", "hoa") if e.action == "staff.access_changed"]
    assert [(e.before, e.after) for e in access] == [
        (
            {"role": "officer", "all_agencies": False, "agencies": ["A01"]},
            {"role": "viewer", "all_agencies": False, "agencies": ["A01"]},
        )
    ]


async def test_taking_an_agency_off_an_account_returns_only_that_agency_s_breaks(db: Database) -> None:
    await add_staff(db, "quan-tri", "admin")
    await add_staff(db, "hoa", "officer", ("A01", "B02"))
    of_a01 = await _assigned(db, "hoa", "A01")
    of_b02 = await _assigned(db, "hoa", "B02")
    # the line names A01, our record is B02's: the staff of either agency work it
    of_both = await _assigned(db, "hoa", "A01", our_agency="B02")

    changed = await staff.change_access(db, "hoa", agencies=["B02"], now=now_utc(), actor="cli:root", assigned=BREAKS)

    assert changed
    await _dropped(db, of_a01, "hoa")
    assert await _state(db, of_b02) == ("assigned", "hoa", 2)
    assert await _state(db, of_both) == ("assigned", "hoa", 2)
    assert [e.action for e in await _trail(db, of_b02)] == ["break.assigned"]


async def test_a_change_that_takes_nothing_away_leaves_the_breaks_assigned(db: Database) -> None:
    await add_staff(db, "quan-tri", "admin")
    await add_staff(db, "hoa", "officer", ("A01",))
    mine = await _assigned(db, "hoa", "A01")

    assert await staff.change_access(db, "hoa", role="admin", now=now_utc(), actor="cli:root", assigned=BREAKS)
    assert await staff.change_access(db, "hoa", all_agencies=True, now=now_utc(), actor="cli:root", assigned=BREAKS)
    assert not await staff.change_access(db, "hoa", role="admin", now=now_utc(), actor="cli:root", assigned=BREAKS)

    assert await _state(db, mine) == ("assigned", "hoa", 2)
    assert [e.action for e in await _trail(db, mine)] == ["break.assigned"]


async def test_an_account_disabled_while_a_change_of_its_break_is_under_way_waits_for_it(db: Database) -> None:
    """A change of a break holds the break, then the account (``break_assignee``); the account's change holds its
    breaks first too, so the two wait for each other in turn instead of deadlocking, and the account's change, second,
    sees the break as the first left it."""
    await add_staff(db, "quan-tri", "admin")
    await add_staff(db, "hoa", "officer", ("A01",))
    mine = await _assigned(db, "hoa", "A01")
    holding = asyncio.Event()

    async def change_of_the_break() -> str | None:
        async with db.transaction() as conn:
            await findings.locked_break(conn, mine)
            holding.set()
            await asyncio.sleep(0.3)  # the account's change starts meanwhile, and waits
            return await staff.break_assignee(conn, "hoa", ("A01",))

    async def disabling() -> bool:
        await holding.wait()
        return await staff.set_active(db, "hoa", False, now=now_utc(), actor="cli:root", assigned=BREAKS)

    first, second = await asyncio.wait_for(asyncio.gather(change_of_the_break(), disabling()), timeout=20)

    assert (first, second) == ("hoa", True)
    await _dropped(db, mine, "hoa")
