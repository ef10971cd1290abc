"""A settlement row naming another agency of ours than the payment it settles, on PostgreSQL and SQLite: an
agency_mismatch break, never a match, whose money is unexplained for neither agency; staff of both agencies and of
every agency see it and may work it, and only the payment's agency sees what the gateway holds on the payment. No
automatic path resolves it or lets it settle anything: not a republished file, not a later day's row, not the hub's
answer."""

from __future__ import annotations

from datetime import timedelta

from adapters.vntime import now_utc
from gateway import portals, staff
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import BreakFilter, Staffer, get_break, list_breaks, resolve_break
from gateway.reconciliation.resolution import resolve_run
from tests.support.stack import OTHER_AGENCY

from .conftest import AGENCY, World, hub_row, vn

OURS = AgencyScope.of([AGENCY.code])
NAMED = AgencyScope.of([OTHER_AGENCY.code])


async def test_a_row_naming_another_agency_than_the_payment_s_is_seen_by_both(world: World) -> None:
    await portals.upsert_agency(world.db, OTHER_AGENCY)  # ours too: its rows are not another partner's data
    payment, transaction = await world.paid(vn(world.today, 8))
    await world.edit(world.today, action="alter", MaGiaoDich=transaction, changes={"MaDonVi": OTHER_AGENCY.code})

    run = (await world.run(world.today)).run

    [found] = await world.breaks()
    assert (found["code"], found["key"]) == ("agency_mismatch", f"agency_mismatch:{transaction}")
    assert (found["agency_code"], found["our_agency_code"], found["our_id"]) == (
        OTHER_AGENCY.code, AGENCY.code, payment.id
    )  # fmt: skip
    assert (run.matched, run.breaks) == (0, 1)
    totals = {t.agency_code: t for t in await world.totals()}
    assert (totals[AGENCY.code].collected, totals[AGENCY.code].settled, totals[AGENCY.code].unexplained) == (
        150_000, 0, 0
    )  # fmt: skip
    assert (totals[OTHER_AGENCY.code].collected, totals[OTHER_AGENCY.code].settled) == (0, 150_000)
    assert totals[OTHER_AGENCY.code].unexplained == 0, "the break explains the money; no aggregate break for either"
    async with world.db.read() as conn:
        for scope in (OURS, NAMED, AgencyScope.everything()):
            seen, _ = await list_breaks(conn, scope, BreakFilter(), None, 10)
            assert [b.id for b in seen] == [found["id"]]
        mine = await get_break(conn, OURS, found["id"])
        named = await get_break(conn, NAMED, found["id"])
    assert (mine.item.our_id, mine.item.our_amount, mine.item.facts["our_status"]) == (payment.id, 150_000, "paid")
    assert (named.item.our_id, named.item.our_amount) == ("", None)
    assert "our_status" not in named.item.facts and named.item.facts["our_agency"] == AGENCY.code

    done = await resolve_break(world.db, Staffer("ke.toan", OURS), found["id"], 1, "Cổng ghi nhầm đơn vị, đã báo sửa")
    assert (done.status, done.resolved_by) == ("resolved", "ke.toan")


async def test_a_later_day_s_row_naming_another_agency_does_not_settle_a_record_missing_at_the_hub(
    world: World,
) -> None:
    await portals.upsert_agency(world.db, OTHER_AGENCY)
    before = world.today - timedelta(days=1)
    late, late_tx = await world.paid(vn(before, 16))
    await world.edit(before, action="drop", MaGiaoDich=late_tx)
    await world.run(before)
    [missing] = await world.breaks()
    assert missing["code"] == "missing_at_hub"
    row = hub_row(late_tx, late.reference, before, hour=16, agency=OTHER_AGENCY.code)
    await world.edit(world.today, action="add", row=row)

    later = (await world.run(world.today)).run
    await resolve_run(world.results, world.client, later.id, now_utc())

    found = {b["code"]: b for b in await world.breaks()}
    assert set(found) == {"missing_at_hub", "agency_mismatch"}
    assert (found["missing_at_hub"]["id"], found["missing_at_hub"]["status"]) == (missing["id"], "open")
    assert (found["agency_mismatch"]["status"], found["agency_mismatch"]["our_id"]) == ("open", late.id)
    assert later.classes.get("late_settlement") is None


async def test_a_republished_file_naming_the_payment_s_agency_leaves_the_break_to_staff(world: World) -> None:
    await portals.upsert_agency(world.db, OTHER_AGENCY)
    _, transaction = await world.paid(vn(world.today, 8))
    await world.edit(world.today, action="alter", MaGiaoDich=transaction, changes={"MaDonVi": OTHER_AGENCY.code})
    await world.run(world.today)
    [first] = await world.breaks()
    await world.edit(world.today, action="alter", MaGiaoDich=transaction, changes={"MaDonVi": AGENCY.code})

    second = (await world.run(world.today)).run
    await resolve_run(world.results, world.client, second.id, now_utc())

    assert second.classes["matched"]["lines"] == 1
    [kept] = await world.breaks()
    assert (kept["id"], kept["status"], kept["resolution"], kept["version"]) == (first["id"], "open", "", 1)
    async with world.db.read() as conn:
        trail = await staff.history(conn, "break", kept["id"])
    assert [(e.actor, e.action) for e in trail] == [(staff.SYSTEM, "break.not_found_again")]
    assert second.id in trail[0].note


async def test_the_next_day_s_row_of_the_payment_s_own_agency_does_not_resolve_the_mismatch(world: World) -> None:
    await portals.upsert_agency(world.db, OTHER_AGENCY)
    before = world.today - timedelta(days=1)
    payment, transaction = await world.paid(vn(before, 8))
    await world.edit(before, action="alter", MaGiaoDich=transaction, changes={"MaDonVi": OTHER_AGENCY.code})
    first = (await world.run(before)).run
    await resolve_run(world.results, world.client, first.id, now_utc())
    await world.edit(world.today, action="add", row=hub_row(f"{transaction}-B", payment.reference, world.today))

    later = (await world.run(world.today)).run
    await resolve_run(world.results, world.client, later.id, now_utc())

    mismatch = [b for b in await world.breaks() if b["code"] == "agency_mismatch"]
    assert [(b["day"], b["status"], b["resolution"]) for b in mismatch] == [(before, "open", "")]
    [again] = [b for b in await world.breaks() if b["day"] == world.today]
    assert (again["code"], again["status"]) == ("settled_again", "open"), "the second settlement is left to staff too"
