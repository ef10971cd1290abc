"""Settlement runs on PostgreSQL and SQLite: files the hub sandbox publishes, with its edits, give exactly the
breaks seeded in them; the same file twice changes nothing; a republished file supersedes, and a break whose facts
it changes moves on to a new version, so a form posted on the old facts is refused; a later file settles an earlier
day's break."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import BreakFilter, RunStatus, Staffer, get_break, list_breaks, resolve_break
from gateway.store.tables import reconciliation as rt
from gateway.store.tables import staff as stt

from .conftest import AGENCY, World, vn

B = rt.reconciliation_breaks.c


async def seeded(world: World) -> dict[str, str]:
    """One payment per kind of break (and one that matches), with the day's file edited to carry each break."""
    day = world.today
    _, ok = await world.paid(vn(day, 8))
    _, priced = await world.paid(vn(day, 9))
    _, twice = await world.paid(vn(day, 10))
    _, netted = await world.paid(vn(day, 11))
    dropped, dropped_tx = await world.paid(vn(day, 12))
    unheard = await world.payment()  # paid at the hub, its callback never came: still pending with us
    unheard_tx = await world.pay_at_hub(unheard.reference, vn(day, 13))
    await world.edit(day, action="alter", MaGiaoDich=priced, changes={"SoTien": 149_000})
    await world.edit(day, action="duplicate", MaGiaoDich=twice)
    await world.edit(day, action="alter", MaGiaoDich=netted, changes={"SoTienQuyetToan": 1})
    await world.edit(day, action="drop", MaGiaoDich=dropped_tx)
    await world.edit(
        day,
        action="add",
        row={
            "MaGiaoDich": "HUB-STRANGER-1",
            "MaThamChieu": "PGSTRANGER0001",
            "MaDonVi": AGENCY.code,
            "SoTien": 20_000,
            "ThoiGianThanhToan": f"{day:%Y%m%d}140000",
        },
    )
    return {"ok": ok, "priced": priced, "twice": twice, "netted": netted, "dropped": dropped.id, "unheard": unheard_tx}


async def test_a_seeded_file_gives_exactly_its_breaks(world: World) -> None:
    ids = await seeded(world)

    recorded = await world.run(world.today)

    run = recorded.run
    assert recorded.new and run.status == RunStatus.COMPLETED
    found = {(b["code"], b["key"]) for b in await world.breaks()}
    assert found == {
        ("amount_mismatch", f"amount_mismatch:{ids['priced']}"),
        ("duplicate", f"duplicate:{ids['twice']}#5"),  # line 1 is the header, the copy follows its row (line 4)
        ("net_mismatch", f"net_mismatch:{ids['netted']}"),
        ("missing_at_hub", f"missing_at_hub:{ids['dropped']}"),
        ("status_mismatch", f"status_mismatch:{ids['unheard']}"),
        ("missing_in_ours", "missing_in_ours:HUB-STRANGER-1"),
    }
    assert all(b["status"] == "open" and b["run_id"] == run.id for b in await world.breaks())
    assert (run.file_rows, run.matched, run.breaks) == (7, 2, 6)  # the first row of the duplicated one matches
    assert run.classes["matched"]["lines"] == 2 and run.classes["duplicate"]["lines"] == 1
    async with world.db.read() as conn:
        totals = (await conn.execute(rt.reconciliation_totals.select())).all()
    assert [(t.agency_code, t.collected, t.hub_rows, t.unexplained) for t in totals] == [
        (AGENCY.code, 5 * 150_000, 7, 0)
    ]
    assert run.hub_amount == sum(t.settled for t in totals)
    kept = {p.name for p in (Path(world.settings.reconciliation_data_dir) / "runs" / run.id).iterdir()}
    assert kept == {"lines"}, "a run keeps its classified lines (exports read them), and no working file"


async def test_the_same_file_twice_changes_nothing(world: World) -> None:
    await seeded(world)
    first = await world.run(world.today)
    before = await world.footprint()

    again = await world.run(world.today)

    assert not again.new and again.run.id == first.run.id
    assert await world.footprint() == before


async def test_two_runs_of_the_same_day_at_once_make_one_run(world: World) -> None:
    await seeded(world)
    tomorrow = vn(world.today + timedelta(days=1), 2).isoformat()
    (await world.control.put("/control/clock", json={"now": tomorrow})).raise_for_status()

    both = await asyncio.gather(world.runs.run(world.today), world.runs.run(world.today))

    assert both[0].run.id == both[1].run.id and sorted(r.new for r in both) == [False, True]
    assert await world.count(rt.reconciliation_runs) == 1
    assert await world.count(rt.reconciliation_breaks) == 6


async def test_a_republished_file_supersedes_and_carries_its_breaks(world: World) -> None:
    ids = await seeded(world)
    first = (await world.run(world.today)).run
    kept = {b["key"]: b for b in await world.breaks()}
    by_hand = kept[f"net_mismatch:{ids['netted']}"]
    async with world.db.transaction() as conn:  # as a finance officer resolves it
        await conn.execute(
            rt.reconciliation_breaks.update()
            .where(B.id == by_hand["id"])
            .values(status="resolved", resolution="manual", resolved_by="ke.toan", note="đã xử lý")
        )
    # the hub corrects the amount and the net, and adds a row it had forgotten
    await world.edit(world.today, action="alter", MaGiaoDich=ids["priced"], changes={"SoTien": 150_000})
    await world.edit(world.today, action="alter", MaGiaoDich=ids["netted"], changes={"SoTienQuyetToan": 150_000})
    await world.edit(
        world.today,
        action="add",
        row={
            "MaGiaoDich": "HUB-STRANGER-2",
            "MaThamChieu": "PGSTRANGER0002",
            "MaDonVi": AGENCY.code,
            "SoTien": 30_000,
            "ThoiGianThanhToan": f"{world.today:%Y%m%d}150000",
        },
    )

    second = (await world.run(world.today)).run

    assert second.id != first.id and second.supersedes_id == first.id
    async with world.db.read() as conn:
        old = (await conn.execute(rt.reconciliation_runs.select().where(rt.reconciliation_runs.c.id == first.id))).one()
    assert old.superseded_by_id == second.id
    now = {b["key"]: b for b in await world.breaks()}
    cleared = now[f"amount_mismatch:{ids['priced']}"]
    assert (cleared["status"], cleared["resolution"], cleared["resolved_by"]) == ("resolved", "cleared", "system")
    assert now[f"net_mismatch:{ids['netted']}"]["resolution"] == "manual", "resolved by hand stays so"
    for key in (
        f"missing_at_hub:{ids['dropped']}",
        f"status_mismatch:{ids['unheard']}",
        "missing_in_ours:HUB-STRANGER-1",
    ):
        assert now[key]["id"] == kept[key]["id"] and now[key]["run_id"] == second.id and now[key]["status"] == "open"
        assert now[key]["version"] == kept[key]["version"], "the same facts again: no change of the break"
    assert now["missing_in_ours:HUB-STRANGER-2"]["first_run_id"] == second.id
    audit = stt.staff_audit.c
    entries = await world.count(stt.staff_audit, audit.subject_id == cleared["id"], audit.actor == "system")
    assert entries == 1


async def test_a_form_on_the_facts_a_republished_file_changed_is_refused_as_stale(world: World) -> None:
    _, priced = await world.paid(vn(world.today, 9))
    await world.edit(world.today, action="alter", MaGiaoDich=priced, changes={"SoTien": 149_000})
    await world.run(world.today)
    officer = Staffer("ke.toan", AgencyScope.of([AGENCY.code]))
    async with world.db.read() as conn:  # the officer opens the break's page: its form carries this version
        [shown], _ = await list_breaks(conn, officer.scope, BreakFilter(), None, 10)
    await world.edit(world.today, action="alter", MaGiaoDich=priced, changes={"SoTien": 148_000})

    second = (await world.run(world.today)).run

    with pytest.raises(Refused) as refused:
        await resolve_break(world.db, officer, shown.id, shown.version, "Đã đối chiếu: Cổng thu 149.000 đồng")
    assert (refused.value.code, refused.value.extra) == ("break_changed", {"current_version": shown.version + 1})
    async with world.db.read() as conn:
        detail = await get_break(conn, officer.scope, shown.id)
    assert (detail.item.status, detail.item.hub_amount, detail.item.run_id) == ("open", 148_000, second.id)
    [entry] = detail.history
    assert (entry.actor, entry.action, entry.note) == ("system", "break.facts_changed", f"run {second.id}")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["hub_amount"], entry.after["hub_amount"]) == (149_000, 148_000)
    assert (entry.before["facts"]["hub_amount"], entry.after["facts"]["hub_amount"]) == (149_000, 148_000)
    done = await resolve_break(world.db, officer, shown.id, detail.item.version, "Cổng thu 148.000 đồng, đã báo")
    assert done.status == "resolved"


async def test_a_later_file_settles_an_earlier_days_break(world: World) -> None:
    before = world.today - timedelta(days=1)
    late, late_tx = await world.paid(vn(before, 16))
    await world.edit(before, action="drop", MaGiaoDich=late_tx)
    earlier = (await world.run(before)).run
    [missing] = await world.breaks()
    assert missing["key"] == f"missing_at_hub:{late.id}" and missing["run_id"] == earlier.id
    await world.edit(
        world.today,
        action="add",
        row={
            "MaGiaoDich": late_tx,
            "MaThamChieu": late.reference,
            "MaDonVi": AGENCY.code,
            "SoTien": 150_000,
            "ThoiGianThanhToan": f"{before:%Y%m%d}160000",
        },
    )

    later = (await world.run(world.today)).run

    [closed] = await world.breaks()
    assert (closed["id"], closed["status"], closed["resolution"]) == (missing["id"], "resolved", "settled_later")
    assert later.classes["late_settlement"]["lines"] == 1 and later.breaks == 0


async def test_a_record_still_missing_the_next_day_is_reported_once(world: World) -> None:
    before = world.today - timedelta(days=1)
    _, lost_tx = await world.paid(vn(before, 9))
    await world.edit(before, action="drop", MaGiaoDich=lost_tx)
    await world.run(before)

    await world.run(world.today)

    assert [(b["code"], b["day"]) for b in await world.breaks()] == [("missing_at_hub", before)]


async def test_a_cleared_break_found_again_is_reopened(world: World) -> None:
    _, priced = await world.paid(vn(world.today, 9))
    await world.edit(world.today, action="alter", MaGiaoDich=priced, changes={"SoTien": 149_000})
    await world.run(world.today)
    await world.edit(world.today, action="alter", MaGiaoDich=priced, changes={"SoTien": 150_000})
    await world.run(world.today)
    [cleared] = await world.breaks()
    await world.edit(world.today, action="alter", MaGiaoDich=priced, changes={"SoTien": 148_000})

    third = (await world.run(world.today)).run

    [reopened] = await world.breaks()
    assert reopened["id"] == cleared["id"] and cleared["resolution"] == "cleared"
    assert (reopened["status"], reopened["resolution"], reopened["run_id"]) == ("open", "", third.id)
    assert reopened["our_amount"] == 150_000 and reopened["hub_amount"] == 148_000
    assert reopened["version"] == cleared["version"] + 2
    async with world.db.read() as conn:
        trail = await staff.history(conn, "break", cleared["id"])
    assert [(e.actor, e.action) for e in trail] == [
        ("system", "break.cleared"),
        ("system", "break.facts_changed"),  # 149.000 then, 148.000 now
        ("system", "break.reopened"),
    ]
