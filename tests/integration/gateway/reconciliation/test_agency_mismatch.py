"""A settlement row naming another agency of ours than the payment it settles, on PostgreSQL and SQLite: an
agency_mismatch break, never a match, whose money is unexplained for neither agency; staff of both agencies and of
every agency see it and may work it, and only the payment's agency sees what the gateway holds on the payment."""

from __future__ import annotations

from gateway import portals
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import BreakFilter, Staffer, get_break, list_breaks, resolve_break
from tests.support.stack import OTHER_AGENCY

from .conftest import AGENCY, World, vn

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
