"""A hub row settling again a payment that an earlier day's file already settled, on PostgreSQL and SQLite: a break
of its own kind (``settled_again``) about the payment, counted as such in the run's figures, that the automatic
resolution never asks the hub about (the hub would answer "paid" and hide the double settlement)."""

from __future__ import annotations

from datetime import timedelta

from adapters.vntime import now_utc
from gateway import staff
from gateway.reconciliation.resolution import resolve_run
from gateway.store.tables import reconciliation as rt

from .conftest import AGENCY, World, hub_row, vn

B = rt.reconciliation_breaks.c


async def test_a_payment_settled_yesterday_and_again_today_is_a_break_the_hub_is_not_asked_about(world: World) -> None:
    before = world.today - timedelta(days=1)
    payment, transaction = await world.paid(vn(before, 10))
    first = (await world.run(before)).run
    assert (first.matched, first.breaks) == (1, 0)
    await world.edit(world.today, action="add", row=hub_row("HUB-AGAIN-1", payment.reference, world.today))

    later = (await world.run(world.today)).run
    report = await resolve_run(world.results, world.client, later.id, now_utc())

    [again] = await world.breaks()
    assert (again["code"], again["key"], again["day"]) == ("settled_again", "settled_again:HUB-AGAIN-1", world.today)
    assert (again["agency_code"], again["our_agency_code"], again["our_id"]) == (AGENCY.code, AGENCY.code, payment.id)
    assert (again["hub_amount"], again["our_amount"], again["status"]) == (150_000, 150_000, "open")
    assert again["facts"]["settled_day"] == before.isoformat() and again["facts"]["code"] == "settled_again"
    assert later.classes["settled_again"]["lines"] == 1 and "missing_in_ours" not in later.classes
    assert later.classes["settled_again"]["hub_amount"] == 150_000
    assert later.breaks == 1
    assert (report.candidates, report.asked, report.resolved) == (0, 0, 0)
    assert transaction != "HUB-AGAIN-1"


async def test_a_row_of_a_payment_no_earlier_file_settled_is_still_asked_about(world: World) -> None:
    """A payment collected on an earlier day that no run took (no run of that day): nothing proves a first
    settlement, so the row is the ordinary missing_in_ours the hub is asked about."""
    before = world.today - timedelta(days=2)
    payment, _ = await world.paid(vn(before, 10))
    await world.edit(world.today, action="add", row=hub_row("HUB-LATE-1", payment.reference, world.today))

    later = (await world.run(world.today)).run
    report = await resolve_run(world.results, world.client, later.id, now_utc())

    [found] = await world.breaks()
    assert found["code"] == "missing_in_ours"
    assert (report.asked, report.resolved) == (1, 1)


async def test_a_row_recorded_before_the_earlier_day_s_run_is_left_to_staff(world: World) -> None:
    """Today's file reconciled first, yesterday's after: today's row could not be told apart when it was recorded;
    the automatic resolution, which comes after, sees yesterday's settlement and does not ask the hub."""
    before = world.today - timedelta(days=1)
    payment, _ = await world.paid(vn(before, 10))
    await world.edit(world.today, action="add", row=hub_row("HUB-AGAIN-2", payment.reference, world.today))
    later = (await world.run(world.today)).run
    [found] = await world.breaks()
    assert found["code"] == "missing_in_ours"
    assert (await world.run(before)).run.matched == 1

    report = await resolve_run(world.results, world.client, later.id, now_utc())

    assert (report.candidates, report.settled_before, report.asked, report.resolved) == (1, 1, 0, 0)
    [kept] = await world.breaks(B.id == found["id"])
    assert (kept["status"], kept["version"]) == ("open", 1)


async def test_a_republished_file_without_the_second_row_leaves_the_break_to_staff(world: World) -> None:
    before = world.today - timedelta(days=1)
    payment, _ = await world.paid(vn(before, 10))
    await world.run(before)
    await world.edit(world.today, action="add", row=hub_row("HUB-AGAIN-3", payment.reference, world.today))
    await world.run(world.today)
    [again] = await world.breaks()
    await world.edit(world.today, action="drop", MaGiaoDich="HUB-AGAIN-3")

    second = (await world.run(world.today)).run

    [kept] = await world.breaks()
    assert (kept["id"], kept["code"], kept["status"], kept["version"]) == (again["id"], "settled_again", "open", 1)
    async with world.db.read() as conn:
        trail = await staff.history(conn, "break", kept["id"])
    assert [(e.actor, e.action) for e in trail] == [(staff.SYSTEM, "break.not_found_again")]
    assert second.id in trail[0].note
