"""A break that keeps its assignee across a change (reopened by staff or by a newer run, its facts or agencies changed
by a newer run) keeps it only while that account may still work it: an enabled officer or admin of one of the
break's agencies. Otherwise the break is open again, assigned to no one, with the system's audit entry saying so.
On both engines."""

from __future__ import annotations

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import AssignedBreaks, breaks, findings, get_break, runs
from gateway.reconciliation.findings import Found
from gateway.store.db import Database
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.staff import add_staff

LAN = breaks.Staffer("lan", AgencyScope.of(["A01"]))
EVERYTHING = AgencyScope.everything()
LINE = {"code": "amount_mismatch", "line": 4, "transaction_id": "HUB-T1", "hub_amount": 149_000, "our_amount": 150_000}


def _found(agency: str = "A01", our_agency: str = "A01") -> Found:
    return Found(
        key="amount_mismatch:HUB-T1", code="amount_mismatch", agency=agency, our_agency=our_agency,
        transaction_id="HUB-T1", our_id="pay_1", hub_amount=149_000, our_amount=150_000, facts=LINE,
    )  # fmt: skip


async def _break(db: Database, **columns: object) -> str:
    run = await add_run(db, agencies={"A01": {}})
    return await add_break(
        db, run, agency="A01", our_agency_code="A01", code="amount_mismatch", identity="HUB-T1",
        transaction_id="HUB-T1", our_id="pay_1", hub_amount=149_000, our_amount=150_000, facts=LINE, **columns,
    )  # fmt: skip


async def _newer_run(db: Database) -> runs.Run:
    run_id = await add_run(db, agencies={"A01": {}})
    async with db.read() as conn:
        run = await runs.load(conn, run_id)
    assert run is not None
    return run


async def _trail(db: Database, break_id: str) -> list[tuple[str, str]]:
    async with db.read() as conn:
        return [(e.actor, e.action) for e in (await get_break(conn, EVERYTHING, break_id)).history]


async def test_reopening_by_hand_drops_an_assignee_that_was_disabled_meanwhile(db: Database) -> None:
    await add_staff(db, "lan", "officer", ("A01",))
    await add_staff(db, "hoa", "officer", ("A01",))
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "hoa")
    await breaks.resolve(db, LAN, b, 2, "ngân hàng xác nhận")
    assert await staff.set_active(db, "hoa", False, now=now_utc(), actor="test", assigned=AssignedBreaks())

    view = await breaks.reopen(db, LAN, b, 3, "ngân hàng báo nhầm")

    assert (view.status, view.assigned_to, view.assigned_at, view.version) == ("open", "", None, 5)
    async with db.read() as conn:
        history = (await get_break(conn, LAN.scope, b)).history
    assert [(h.actor, h.action) for h in history] == [
        ("lan", "break.assigned"),
        ("lan", "break.resolved"),
        ("lan", "break.reopened"),
        (staff.SYSTEM, "break.assignee_dropped"),
    ]
    dropped = history[-1]
    assert dropped.before is not None and dropped.after is not None
    assert (dropped.before["assigned_to"], dropped.after["assigned_to"], dropped.after["status"]) == ("hoa", "", "open")
    assert "hoa" in dropped.note
    assert (await breaks.assign(db, LAN, b, 5, "lan")).assigned_to == "lan", "the form's next version works"


async def test_reopening_by_hand_keeps_an_assignee_who_may_still_work_the_break(db: Database) -> None:
    await add_staff(db, "lan", "officer", ("A01",))
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "lan")
    await breaks.resolve(db, LAN, b, 2, "đã xử lý")

    view = await breaks.reopen(db, LAN, b, 3)

    assert (view.status, view.assigned_to, view.version) == ("assigned", "lan", 4)
    assert (await _trail(db, b))[-1] == ("lan", "break.reopened")


async def test_a_newer_run_reopening_a_cleared_break_drops_an_assignee_who_became_a_viewer(db: Database) -> None:
    await add_staff(db, "xem", "viewer", ("A01",))  # an officer once; the account is a viewer now
    b = await _break(db, status="resolved", resolution="cleared", resolved_by="system", assigned_to="xem")
    run = await _newer_run(db)

    async with db.transaction() as conn:
        await findings.write_breaks(conn, run, [_found()], now_utc())

    async with db.read() as conn:
        item = (await get_break(conn, EVERYTHING, b)).item
    assert (item.status, item.assigned_to, item.resolution) == ("open", "", "")
    assert await _trail(db, b) == [(staff.SYSTEM, "break.reopened"), (staff.SYSTEM, "break.assignee_dropped")]


async def test_a_newer_run_moving_a_break_to_other_agencies_drops_an_assignee_of_neither(db: Database) -> None:
    await add_staff(db, "lan", "officer", ("A01",))
    await add_staff(db, "minh", "officer", ("B02",))
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "lan")
    run = await _newer_run(db)

    async with db.transaction() as conn:  # the republished file's line names B02, and the record is of B02 now
        await findings.write_breaks(conn, run, [_found(agency="B02", our_agency="B02")], now_utc())

    async with db.read() as conn:
        item = (await get_break(conn, EVERYTHING, b)).item
    assert (item.status, item.assigned_to, item.agency_code, item.version) == ("open", "", "B02", 4)
    assert await _trail(db, b) == [
        ("lan", "break.assigned"),
        (staff.SYSTEM, "break.facts_changed"),
        (staff.SYSTEM, "break.assignee_dropped"),
    ]


async def test_a_newer_run_changing_facts_keeps_an_assignee_who_may_still_work_the_break(db: Database) -> None:
    await add_staff(db, "lan", "officer", ("A01",))
    await add_staff(db, "minh", "officer", ("B02",))
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "lan")
    run = await _newer_run(db)

    async with db.transaction() as conn:  # the line names B02 now; the record is still A01's
        await findings.write_breaks(conn, run, [_found(agency="B02", our_agency="A01")], now_utc())

    async with db.read() as conn:
        item = (await get_break(conn, EVERYTHING, b)).item
    assert (item.status, item.assigned_to, item.version) == ("assigned", "lan", 3)
