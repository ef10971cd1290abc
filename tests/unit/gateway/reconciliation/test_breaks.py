"""A break's lifecycle on both engines: each change checks the version read and the scope, and writes the break and
one audit entry together; a refused change changes nothing."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import AssignedBreaks, breaks, get_break
from gateway.reconciliation.lifecycle import State, assigned, reopened, resolved, unassigned
from gateway.store.db import Database
from gateway.store.tables.staff import staff_audit
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.staff import add_staff

LAN = breaks.Staffer("lan", AgencyScope.of(["A01"]), "203.0.113.7")
OUTSIDER = breaks.Staffer("minh", AgencyScope.of(["B02"]))


@pytest.fixture(autouse=True)
async def accounts(db: Database) -> None:
    """The officers of A01 breaks are assigned to, and one of B02."""
    for username, agency in (("lan", "A01"), ("hoa", "A01"), ("minh", "B02")):
        await add_staff(db, username, "officer", (agency,))


async def _break(db: Database, **columns: object) -> str:
    run = await add_run(db, agencies={"A01": {}})
    return await add_break(db, run, agency="A01", code="missing_in_ours", hub_amount=50_000, **columns)


async def _entries(db: Database) -> int:
    """The audit entries of breaks (the accounts' own are not counted)."""
    async with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(staff_audit).where(staff_audit.c.subject_type == "break")
        return int((await conn.execute(query)).scalar_one())


async def _refused(code: str, change: object) -> Refused:
    with pytest.raises(Refused) as refused:
        await change  # type: ignore[misc]
    assert refused.value.code == code
    return refused.value


async def test_assigning_moves_the_version_on_and_leaves_one_audit_entry(db: Database) -> None:
    b = await _break(db)
    view = await breaks.assign(db, LAN, b, 1, "hoa")
    assert (view.status, view.assigned_to, view.version) == ("assigned", "hoa", 2) and view.assigned_at
    async with db.read() as conn:
        (entry,) = (await get_break(conn, LAN.scope, b)).history
    assert (entry.actor, entry.action, entry.agency_code, entry.client_ip) == (
        "lan", "break.assigned", "A01", "203.0.113.7"
    )  # fmt: skip
    assert entry.before == {"status": "open", "assigned_to": "", "resolution": "", "note": ""}
    assert entry.after == {"status": "assigned", "assigned_to": "hoa", "resolution": "", "note": ""}


async def test_a_break_is_assigned_only_to_an_enabled_officer_or_admin_of_its_agency(db: Database) -> None:
    b = await _break(db)
    await add_staff(db, "xem", "viewer", ("A01",))
    await add_staff(db, "nghi", "officer", ("A01",))
    assert await staff.set_active(db, "nghi", False, now=now_utc(), actor="test", assigned=AssignedBreaks())
    for to in ("khong-co-ai", "xem", "nghi", "minh"):  # unknown, a viewer, disabled, of another agency
        refused = await _refused("unknown_assignee", breaks.assign(db, LAN, b, 1, to))
        assert refused.field == "assigned_to"
    async with db.read() as conn:
        item = (await get_break(conn, LAN.scope, b)).item
    assert (item.status, item.assigned_to, item.version) == ("open", "", 1) and await _entries(db) == 0
    await add_staff(db, "quan-tri", "admin")  # of every agency
    assert (await breaks.assign(db, LAN, b, 1, "quan-tri")).assigned_to == "quan-tri"
    view = await breaks.assign(db, LAN, b, 2, " HOA ")  # kept as the account's own username
    assert (view.assigned_to, view.version) == ("hoa", 3) and await _entries(db) == 2


async def test_a_stale_version_is_a_conflict_that_changes_nothing(db: Database) -> None:
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "hoa")
    refused = await _refused("break_changed", breaks.resolve(db, LAN, b, 1, "đã đối soát với ngân hàng"))
    assert refused.extra == {"current_version": 2}
    async with db.read() as conn:
        item = (await get_break(conn, LAN.scope, b)).item
    assert (item.status, item.version) == ("assigned", 2) and await _entries(db) == 1


async def test_a_break_outside_the_scope_is_not_found_and_not_changed(db: Database) -> None:
    b = await _break(db)
    await _refused("not_found", breaks.assign(db, OUTSIDER, b, 1, "minh"))
    await _refused("not_found", breaks.resolve(db, OUTSIDER, b, 1, "không phải của tôi"))
    assert await _entries(db) == 0


async def test_resolving_by_hand_needs_a_note_of_at_most_2000_characters(db: Database) -> None:
    b = await _break(db)
    for note in (None, "", "   \n"):
        assert (await _refused("invalid_request", breaks.resolve(db, LAN, b, 1, note))).field == "note"
    await _refused("invalid_request", breaks.resolve(db, LAN, b, 1, "x" * 2001))
    assert await _entries(db) == 0
    view = await breaks.resolve(db, LAN, b, 1, "  Ngân hàng xác nhận đã hoàn tiền  ")
    assert (view.status, view.resolution, view.resolved_by, view.note) == (
        "resolved", "manual", "lan", "Ngân hàng xác nhận đã hoàn tiền"
    )  # fmt: skip
    assert view.resolved_at is not None


async def test_a_resolved_break_is_reopened_before_anything_else(db: Database) -> None:
    b = await _break(db)
    await breaks.assign(db, LAN, b, 1, "hoa")
    await breaks.resolve(db, LAN, b, 2, "đã xử lý")
    await _refused("break_resolved", breaks.assign(db, LAN, b, 3, "lan"))
    await _refused("break_resolved", breaks.resolve(db, LAN, b, 3, "lại"))
    view = await breaks.reopen(db, LAN, b, 3, "ngân hàng báo nhầm")
    assert (view.status, view.assigned_to, view.resolution, view.resolved_by, view.note) == (
        "assigned", "hoa", "", "", ""
    )  # fmt: skip
    await _refused("break_not_resolved", breaks.reopen(db, LAN, b, 4))
    opened = await breaks.unassign(db, LAN, b, 4)
    assert (opened.status, opened.assigned_to, opened.assigned_at) == ("open", "", None)
    await _refused("break_not_assigned", breaks.unassign(db, LAN, b, 5))
    async with db.read() as conn:
        history = (await get_break(conn, LAN.scope, b)).history
    assert [h.action for h in history] == ["break.assigned", "break.resolved", "break.reopened", "break.unassigned"]
    assert history[2].note == "ngân hàng báo nhầm"


async def test_two_officers_changing_the_same_version_one_wins(db: Database) -> None:
    b = await _break(db)
    results = await asyncio.gather(
        breaks.assign(db, LAN, b, 1, "hoa"), breaks.resolve(db, LAN, b, 1, "đã xử lý"), return_exceptions=True
    )
    refusals = [r for r in results if isinstance(r, Refused)]
    assert len(refusals) == 1 and refusals[0].code == "break_changed"
    assert await _entries(db) == 1


async def test_the_system_resolves_once_and_is_named_in_the_trail(db: Database) -> None:
    b = await _break(db)
    async with db.transaction() as conn:
        assert await breaks.resolve_as_system(conn, b, "hub_query", "Cổng thanh toán: đã thanh toán", now_utc())
    async with db.transaction() as conn:
        assert not await breaks.resolve_as_system(conn, b, "hub_query", "lần hai", now_utc())
    async with db.read() as conn:
        detail = await get_break(conn, LAN.scope, b)
    assert (detail.item.resolution, detail.item.resolved_by) == ("hub_query", staff.SYSTEM)
    assert [h.actor for h in detail.history] == [staff.SYSTEM]


def test_the_lifecycle_refuses_what_it_does_not_allow() -> None:
    open_ = State(status="open")
    assert assigned(open_, " hoa ") == State(status="assigned", assigned_to="hoa")
    assert resolved(assigned(open_, "hoa"), "manual", "n").assigned_to == "hoa"
    assert reopened(State(status="resolved", resolution="cleared")) == open_
    for step, code in (
        (lambda: assigned(open_, "hai từ"), "invalid_request"),
        (lambda: assigned(open_, ""), "invalid_request"),
        (lambda: unassigned(open_), "break_not_assigned"),
        (lambda: reopened(open_), "break_not_resolved"),
        (lambda: resolved(State(status="resolved"), "manual", "n"), "break_resolved"),
    ):
        with pytest.raises(Refused) as refused:
            step()
        assert refused.value.code == code


async def test_staff_of_the_record_s_agency_work_a_break_whose_line_names_another(db: Database) -> None:
    b = await _break(db, our_agency_code="B02")
    view = await breaks.assign(db, OUTSIDER, b, 1, "minh")
    assert (view.status, view.assigned_to, view.version) == ("assigned", "minh", 2)
    view = await breaks.resolve(db, LAN, b, 2, "hai đơn vị đã thống nhất")
    assert (view.status, view.resolved_by) == ("resolved", "lan")
    stranger = breaks.Staffer("an", AgencyScope.of(["C03"]))
    await _refused("not_found", breaks.reopen(db, stranger, b, 3))


async def test_a_break_of_no_agency_is_assigned_to_staff_of_every_agency_only(db: Database) -> None:
    """A COD line the post could not place names no agency: only all-agency staff see it, and work it."""
    await add_staff(db, "tong", "officer")  # of every agency
    run = await add_run(db, agencies={"A01": {}})
    b = await add_break(db, run, agency="", code="cod_unknown_item", hub_amount=30_000)
    everyone = breaks.Staffer("tong", AgencyScope.everything())
    await _refused("unknown_assignee", breaks.assign(db, everyone, b, 1, "lan"))
    view = await breaks.assign(db, everyone, b, 1, "tong")
    assert (view.status, view.assigned_to, view.version) == ("assigned", "tong", 2)
