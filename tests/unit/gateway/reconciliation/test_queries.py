"""The read side of reconciliation on both engines: every read limited to its scope, filters, keyset pages, the day
totals from each day's current runs only, and the dashboard's days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import (
    DASHBOARD_DAYS,
    BreakFilter,
    DayRange,
    RunFilter,
    daily_totals,
    dashboard,
    get_break,
    get_run,
    list_breaks,
    list_runs,
)
from gateway.store.db import Database
from tests.support.reconciliation_rows import DAY, add_break, add_run, supersede

EVERYTHING = AgencyScope.everything()
ONLY_A = AgencyScope.of(["A01"])
ONLY_B = AgencyScope.of(["B02"])


async def _two_agencies(db: Database) -> tuple[str, str, str]:
    run = await add_run(
        db,
        agencies={
            "A01": {"settled": 300_000, "hub_fee": 3_000, "hub_net": 297_000, "collected": 250_000, "hub_rows": 3},
            "B02": {"settled": 90_000, "hub_fee": 900, "hub_net": 89_100, "collected": 90_000, "hub_rows": 1},
        },
        classes={
            "matched": {"lines": 3, "hub_amount": 340_000, "our_amount": 340_000},
            "missing_in_ours": {"lines": 1},
        },
        file_rows=4,
        matched=3,
        breaks=2,
    )
    a = await add_break(db, run, agency="A01", code="missing_in_ours", hub_amount=50_000)
    b = await add_break(db, run, agency="B02", code="amount_mismatch", hub_amount=90_000, our_amount=80_000)
    return run, a, b


async def test_a_break_outside_the_scope_is_not_found_and_never_listed(db: Database) -> None:
    _, a, b = await _two_agencies(db)
    async with db.read() as conn:
        theirs, _ = await list_breaks(conn, ONLY_B, BreakFilter(), None, 50)
        assert [x.id for x in theirs] == [b]
        everyone, _ = await list_breaks(conn, EVERYTHING, BreakFilter(), None, 50)
        assert {x.id for x in everyone} == {a, b}
        asked_for_a, _ = await list_breaks(conn, ONLY_B, BreakFilter(agency="A01"), None, 50)
        assert asked_for_a == [], "a filter cannot widen the scope"
        with pytest.raises(Refused) as refused:
            await get_break(conn, ONLY_B, a)
        assert refused.value.code == "not_found"
        seen = await get_break(conn, ONLY_B, b)
    assert seen.item.at_stake == 10_000 and seen.item.label.startswith("Lệch số tiền")


async def test_breaks_filter_by_status_code_day_kind_and_assignee(db: Database) -> None:
    run = await add_run(db, agencies={"A01": {}})
    later = DAY + timedelta(days=1)
    open_ = await add_break(db, run, agency="A01", code="missing_at_hub", our_amount=20_000)
    assigned = await add_break(db, run, agency="A01", status="assigned", assigned_to="lan", day=later)
    resolved = await add_break(db, run, agency="A01", status="resolved", resolution="manual", code="duplicate")
    cod = await add_break(db, run, agency="A01", kind="cod", code="cod_not_remitted")

    async def ids(where: BreakFilter) -> set[str]:
        async with db.read() as conn:
            found, _ = await list_breaks(conn, ONLY_A, where, None, 50)
        return {x.id for x in found}

    assert await ids(BreakFilter(status="open")) == {open_, cod}
    assert await ids(BreakFilter(status="unresolved")) == {open_, assigned, cod}
    assert await ids(BreakFilter(code="duplicate")) == {resolved}
    assert await ids(BreakFilter(days=DayRange(later, later))) == {assigned}
    assert await ids(BreakFilter(assigned_to="lan")) == {assigned}
    assert await ids(BreakFilter(kind="cod")) == {cod}
    assert await ids(BreakFilter(run_id=run)) == {open_, assigned, resolved, cod}
    for bad in ({"status": "closed"}, {"code": "matched"}, {"kind": "cash"}):
        with pytest.raises(Refused) as refused:
            BreakFilter(**bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_request" and refused.value.field == next(iter(bad))


async def test_breaks_come_in_keyset_pages_newest_first(db: Database) -> None:
    run = await add_run(db, agencies={"A01": {}})
    made = [await add_break(db, run, agency="A01") for _ in range(5)]
    seen: list[str] = []
    cursor = None
    async with db.read() as conn:
        while True:
            page, cursor = await list_breaks(conn, ONLY_A, BreakFilter(), cursor, 2)
            seen += [x.id for x in page]
            if cursor is None:
                break
    assert seen == sorted(made, reverse=True)


async def test_a_break_comes_with_its_history(db: Database) -> None:
    run = await add_run(db, agencies={"A01": {}})
    b = await add_break(db, run, agency="A01")
    async with db.transaction() as tx:
        await staff.record(
            tx, at=now_utc(), actor="lan", action="break.assigned", subject_type="break", subject_id=b,
            before={"status": "open"}, after={"status": "assigned"},
        )  # fmt: skip
    async with db.read() as conn:
        detail = await get_break(conn, ONLY_A, b)
    assert [(h.actor, h.action, h.after) for h in detail.history] == [("lan", "break.assigned", {"status": "assigned"})]


async def test_a_limited_scope_sees_its_own_figures_of_a_run_and_not_the_file_s(db: Database) -> None:
    run, _, _ = await _two_agencies(db)
    failed = await add_run(db, status="failed", refusal_code="checksum", refusal_message="Sai mã kiểm tra")
    only_b = await add_run(db, kind="cod", agencies={"B02": {"cod_collected": 5_000}})
    async with db.read() as conn:
        seen, _ = await list_runs(conn, ONLY_A, RunFilter(), None, 50)
        assert [r.id for r in seen] == [failed, run], "another agency's run is not listed; a failed run is"
        assert (seen[0].refusal_code, seen[0].refusal_message) == ("checksum", "Tệp bị từ chối (mã lý do: checksum).")
        assert seen[0].file_sha256 == seen[0].started_by == "", "a refusal's details may quote another agency's row"
        everyone, _ = await list_runs(conn, EVERYTHING, RunFilter(status="failed"), None, 50)
        assert everyone[0].refusal_message == "Sai mã kiểm tra"
        mine = await get_run(conn, ONLY_A, run)
        whole = await get_run(conn, EVERYTHING, run)
        with pytest.raises(Refused):
            await get_run(conn, ONLY_A, only_b)
        completed, _ = await list_runs(conn, EVERYTHING, RunFilter(status="completed", kind="cod"), None, 50)
    assert mine.run.totals.settled == 300_000 and mine.run.breaks == 1 and mine.run.file is None
    assert [a.agency_code for a in mine.agencies] == ["A01"]
    assert [(c.code, c.total, c.unresolved, c.at_stake) for c in mine.break_classes] == [
        ("missing_in_ours", 1, 1, 50_000)
    ]
    assert whole.run.totals.settled == 390_000 and whole.run.breaks == 2 and whole.run.current
    assert whole.run.file is not None and whole.run.file.file_rows == 4
    assert [(c.code, c.lines) for c in whole.run.file.classes] == [("matched", 3), ("missing_in_ours", 1)]
    assert [r.id for r in completed] == [only_b]


async def test_day_totals_come_from_each_day_s_current_runs_with_the_open_breaks(db: Database) -> None:
    old = await add_run(db, agencies={"A01": {"settled": 1_000}})
    new = await add_run(db, agencies={"A01": {"settled": 300_000, "collected": 300_000}})
    await supersede(db, old, new)
    await add_run(db, status="failed")
    await add_run(db, kind="cod", agencies={"A01": {"cod_collected": 40_000, "cod_remitted": 30_000}})
    await add_run(db, day=DAY + timedelta(days=1), agencies={"A01": {"settled": 7}, "B02": {"settled": 9}})
    await add_break(db, new, agency="A01", code="amount_mismatch", hub_amount=120, our_amount=100)
    await add_break(db, new, agency="A01", code="missing_at_hub", our_amount=-50, status="assigned")
    await add_break(db, new, agency="A01", code="duplicate", hub_amount=999, status="resolved")
    async with db.read() as conn:
        totals = await daily_totals(conn, ONLY_A, DayRange(DAY, DAY + timedelta(days=3)))
        with pytest.raises(Refused) as refused:
            await daily_totals(conn, ONLY_A, DayRange(DAY, DAY + timedelta(days=366)))
    assert refused.value.code == "invalid_request"
    first, second = totals
    assert (first.day, first.agency_code, first.open_breaks, first.open_amount) == (DAY, "A01", 2, 70)
    assert first.figures.settled == 300_000 and first.figures.cod_remitted == 30_000
    assert (second.agency_code, second.figures.settled, second.open_breaks) == ("A01", 7, 0)


async def test_the_dashboard_shows_thirty_days_and_refuses_an_agency_outside_the_scope(db: Database) -> None:
    run = await add_run(db, agencies={"A01": {"settled": 5_000}})
    await add_break(db, run, agency="A01", code="missing_in_ours", hub_amount=5_000)
    async with db.read() as conn:
        board = await dashboard(conn, ONLY_A, "A01", DAY + timedelta(days=2))
        with pytest.raises(Refused) as refused:
            await dashboard(conn, ONLY_B, "A01", DAY)
    assert refused.value.code == "not_found"
    assert len(board.days) == DASHBOARD_DAYS and board.days[-1].day == DAY + timedelta(days=2)
    assert board.days[-3].figures.settled == 5_000 and board.today.figures.settled == 0
    assert (board.open_breaks, board.open_amount) == (1, 5_000)


async def test_an_agency_mismatch_is_seen_by_both_agencies_and_the_record_s_facts_only_by_its_own(
    db: Database,
) -> None:
    run = await add_run(db, agencies={"A01": {"settled": 70_000, "hub_rows": 1}})  # nothing of B02's on the file
    facts = {"agency": "A01", "hub_amount": 70_000, "our_agency": "B02", "our_id": "pay_b", "our_amount": 70_000,
             "our_status": "paid", "our_day": DAY.isoformat(), "dossier": "H-1"}
    crossed = await add_break(
        db, run, agency="A01", our_agency_code="B02", code="agency_mismatch", reference="PGB", our_id="pay_b",
        hub_amount=70_000, our_amount=70_000, facts=facts,
    )  # fmt: skip
    async with db.transaction() as tx:
        await staff.record(
            tx, at=now_utc(), actor=staff.SYSTEM, action="break.facts_changed", subject_type="break",
            subject_id=crossed, before={"our_amount": 60_000, "facts": {"our_status": "pending", "dossier": "H-0"}},
            after={"our_amount": 70_000, "facts": {"our_status": "paid", "dossier": "H-1"}},
        )  # fmt: skip
    only_c = AgencyScope.of(["C03"])
    async with db.read() as conn:
        for scope in (ONLY_A, ONLY_B, EVERYTHING):
            listed, _ = await list_breaks(conn, scope, BreakFilter(), None, 50)
            assert [x.id for x in listed] == [crossed]
        assert (await list_breaks(conn, only_c, BreakFilter(), None, 50))[0] == []
        assert [x.id for x in (await list_breaks(conn, ONLY_B, BreakFilter(agency="B02"), None, 50))[0]] == [crossed]
        owner = await get_break(conn, ONLY_B, crossed)
        named = await get_break(conn, ONLY_A, crossed)
        runs_of_b, _ = await list_runs(conn, ONLY_B, RunFilter(), None, 50)
        a_totals = await daily_totals(conn, ONLY_A, DayRange(DAY, DAY))
        b_totals = await daily_totals(conn, ONLY_B, DayRange(DAY, DAY))
        every_totals = await daily_totals(conn, EVERYTHING, DayRange(DAY, DAY))
        board = await dashboard(conn, ONLY_B, "B02", DAY)
    assert (owner.item.our_id, owner.item.our_amount, owner.item.facts) == ("pay_b", 70_000, facts)
    assert (named.item.agency_code, named.item.our_agency_code) == ("A01", "B02")
    assert (named.item.our_id, named.item.our_amount, named.item.at_stake) == ("", None, 70_000)
    assert named.item.facts == {"agency": "A01", "hub_amount": 70_000, "our_agency": "B02", "dossier": "H-1"}
    assert owner.history[0].before == {"our_amount": 60_000, "facts": {"our_status": "pending", "dossier": "H-0"}}
    withheld = (named.history[0].before, named.history[0].after)
    assert withheld == ({"facts": {"dossier": "H-0"}}, {"facts": {"dossier": "H-1"}})
    assert [r.id for r in runs_of_b] == [run] and runs_of_b[0].breaks == 1
    assert [(t.agency_code, t.open_breaks, t.open_amount) for t in a_totals] == [("A01", 1, 70_000)]
    assert [(t.agency_code, t.open_breaks, t.open_amount) for t in b_totals] == [("B02", 1, 70_000)]
    assert [(t.agency_code, t.open_breaks) for t in every_totals] == [("A01", 1), ("B02", 1)]
    assert (board.open_breaks, board.open_amount) == (1, 70_000)
