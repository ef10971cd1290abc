"""A double settlement across days found when the days' files are reconciled out of order, on PostgreSQL and SQLite:
a later day's file reconciled first settles a payment, the earlier day's file reconciled after settles it too. The
run recorded second carries one ``settled_again`` break about its own row, naming the later day, seen by the staff of
the payment's agency and never asked about at the hub; the same file again changes nothing and a republished file
finds the break again."""

from __future__ import annotations

from datetime import timedelta

from adapters.vntime import now_utc
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import get_break
from gateway.reconciliation.resolution import resolve_run
from gateway.store.tables import reconciliation as rt

from .conftest import AGENCY, World, hub_row, vn

B = rt.reconciliation_breaks.c


async def test_a_day_reconciled_after_the_next_day_that_settled_its_payment_late_carries_the_break(
    world: World,
) -> None:
    before, day, later = (world.today - timedelta(days=n) for n in (2, 1, 0))
    payment, transaction = await world.paid(vn(day, 10))
    await world.run(before)  # so the later day's run takes the day's payments with its own
    await world.edit(later, action="add", row=hub_row("HUB-TWICE-1", payment.reference, later))
    first = (await world.run(later)).run
    assert (first.classes["late_settlement"]["lines"], first.breaks) == (1, 0), "the later file settled it"

    second = (await world.run(day)).run  # the day's own file, published late, settles it too
    report = await resolve_run(world.results, world.client, second.id, now_utc())

    [again] = await world.breaks()
    assert (again["code"], again["key"], again["day"]) == ("settled_again", f"settled_again:{transaction}", day)
    assert (again["run_id"], again["first_run_id"], again["status"]) == (second.id, second.id, "open")
    assert (again["agency_code"], again["our_agency_code"], again["our_id"]) == (AGENCY.code, AGENCY.code, payment.id)
    assert (again["hub_amount"], again["our_amount"], again["transaction_id"]) == (150_000, 150_000, transaction)
    facts = again["facts"]
    assert (facts["code"], facts["settled_day"], facts["settled_day_is_later"]) == (
        "settled_again", later.isoformat(), True
    )  # fmt: skip
    assert (facts["our_day"], facts["our_id"]) == (day.isoformat(), payment.id)
    assert (second.breaks, second.classes["matched"]["lines"]) == (1, 1), "the row did settle our record"
    assert (report.candidates, report.asked, report.resolved) == (0, 0, 0)
    async with world.db.read() as conn:  # the staff of the payment's agency see it
        assert (await get_break(conn, AgencyScope.of([AGENCY.code]), again["id"])).item.code == "settled_again"

    footprint = await world.footprint()
    assert not (await world.run(day)).new
    assert await world.footprint() == footprint, "the same file again changes nothing"

    await world.edit(day, action="add", row=hub_row("HUB-OTHER-1", "KHONG-CO-THAT", day))
    third = (await world.run(day)).run  # republished: supersedes the day's run
    [kept] = await world.breaks(B.code == "settled_again")
    assert (kept["id"], kept["run_id"], kept["status"], kept["version"]) == (again["id"], third.id, "open", 1)
    assert kept["facts"] == facts
    assert third.supersedes_id == second.id


async def test_a_row_of_a_payment_the_next_day_s_file_settled_on_its_day_is_settled_again(world: World) -> None:
    """The payment's money moved on the later day, whose file settled it; the earlier day's file, reconciled after,
    has a row of it too: without the later run it is a row of no record of the day, which the hub would call paid."""
    day, later = world.today - timedelta(days=1), world.today
    payment, transaction = await world.paid(vn(later, 1))
    first = (await world.run(later)).run
    assert (first.matched, first.breaks) == (1, 0)
    await world.edit(day, action="add", row=hub_row("HUB-EARLY-1", payment.reference, day))

    second = (await world.run(day)).run
    report = await resolve_run(world.results, world.client, second.id, now_utc())

    [again] = await world.breaks()
    assert (again["code"], again["key"], again["day"]) == ("settled_again", "settled_again:HUB-EARLY-1", day)
    assert (again["our_id"], again["our_agency_code"], again["status"]) == (payment.id, AGENCY.code, "open")
    assert (again["facts"]["settled_day"], again["facts"]["settled_day_is_later"]) == (later.isoformat(), True)
    assert second.classes["settled_again"]["lines"] == 1 and "missing_in_ours" not in second.classes
    assert (report.candidates, report.asked, report.resolved) == (0, 0, 0)
    assert transaction != "HUB-EARLY-1"


async def test_a_later_run_that_did_not_take_the_payment_adds_no_second_break(world: World) -> None:
    """With no run before it, the later day's run took its own day's payments only: its row of the earlier day's
    payment is its own break (missing in ours, left to staff), and the earlier day's run, recorded after, adds none."""
    day, later = world.today - timedelta(days=1), world.today
    payment, _ = await world.paid(vn(day, 10))
    await world.edit(later, action="add", row=hub_row("HUB-NOT-TAKEN", payment.reference, later))
    await world.run(later)

    assert (await world.run(day)).run.matched == 1

    [only] = await world.breaks()
    assert (only["code"], only["day"]) == ("missing_in_ours", later)
