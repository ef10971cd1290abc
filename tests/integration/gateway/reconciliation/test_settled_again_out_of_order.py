"""A double settlement across days found when the days' files are reconciled out of order, on PostgreSQL and SQLite:
a later day's file reconciled first settles a payment, the earlier day's file reconciled after settles it too. The
run recorded second carries one ``settled_again`` break about its own row, naming the later day, seen by the staff of
the payment's agency and never asked about at the hub; the same file again changes nothing and a republished file
finds the break again."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.vntime import now_utc
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import get_break
from gateway.reconciliation.files import KeptFile
from gateway.reconciliation.pipeline import Phase, new_run_values
from gateway.reconciliation.resolution import resolve_run
from gateway.reconciliation.runs import Kind, RunStatus, Trigger, record
from gateway.store.db import Database
from gateway.store.tables import reconciliation as rt

from .conftest import AGENCY, World, hub_row, vn

B = rt.reconciliation_breaks.c
R = rt.reconciliation_runs.c


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


async def test_a_later_day_recorded_while_the_day_s_run_matches_is_seen_by_that_run(world: World) -> None:
    """The later day's run becomes current while the day's run is matching (it asked before the match which later
    runs exist, and kept no plain matches): that run is not recorded as it stands but made again, and the double
    settlement is found."""
    before, day, later = (world.today - timedelta(days=n) for n in (2, 1, 0))
    payment, _ = await world.paid(vn(day, 10))
    await world.run(before)
    phases: list[Phase] = []

    def progress(phase: Phase) -> None:
        phases.append(phase)
        if phase is Phase.MATCH and phases.count(Phase.MATCH) == 1:  # recorded meanwhile, by another process
            meanwhile = threading.Thread(target=asyncio.run, args=(_record_run(world.database_url, later),))
            meanwhile.start()
            meanwhile.join()

    recorded = await world.run(day, progress=progress)

    assert recorded.new and phases.count(Phase.MATCH) == 2, phases
    [again] = await world.breaks(B.code == "settled_again")
    assert (again["our_id"], again["run_id"], again["facts"]["settled_day"]) == (
        payment.id, recorded.run.id, later.isoformat()
    )  # fmt: skip
    async with world.db.read() as conn:
        runs_of_day = (await conn.execute(select(R.id).where(R.day == day))).all()
    assert [row.id for row in runs_of_day] == [recorded.run.id], "the stale attempt left no run behind"


async def _record_run(url: str, day: date) -> None:
    """A completed run of ``day`` that took every record of its days and left none waiting."""
    db = Database.from_url(url)
    try:
        kept = KeptFile("f" * 64, Path("/elsewhere/settlement.csv"), 10)
        values = new_run_values(Kind.SETTLEMENT, day, kept, Trigger.MANUAL, "other", now_utc())
        await record(db, {**values, "status": RunStatus.COMPLETED.value, "finished_at": now_utc()}, now_utc())
    finally:
        await db.dispose()
