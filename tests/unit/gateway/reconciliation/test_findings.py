"""A newer run of a day and the breaks it finds again, on both engines: a change of a break's facts moves its version
on and is an audit entry, a run that changes nothing leaves both alone, and the run holds the breaks it writes
until it commits, so a staff change cannot interleave with it."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import breaks, findings, get_break, runs
from gateway.reconciliation.findings import Found
from gateway.reconciliation.lifecycle import resolved
from gateway.store.db import Database
from tests.support.reconciliation_rows import add_break, add_run

LAN = breaks.Staffer("lan", AgencyScope.of(["A01"]))
KEY = "amount_mismatch:HUB-T1"
LINE = {"code": "amount_mismatch", "line": 4, "transaction_id": "HUB-T1", "hub_amount": 149_000, "our_amount": 150_000}


def found(**line: object) -> Found:
    facts = {**LINE, **line}
    return Found(
        key=KEY, code="amount_mismatch", agency="A01", our_agency="A01", transaction_id="HUB-T1", our_id="pay_1",
        hub_amount=int(facts["hub_amount"]), our_amount=150_000, facts=facts,  # type: ignore[call-overload]
    )  # fmt: skip


async def _seeded(db: Database) -> tuple[str, runs.Run]:
    """A break the day's first run found, and the day's republished run."""
    first = await add_run(db, agencies={"A01": {}})
    b = await add_break(
        db, first, agency="A01", our_agency_code="A01", code="amount_mismatch", identity="HUB-T1",
        transaction_id="HUB-T1", our_id="pay_1", hub_amount=149_000, our_amount=150_000, facts=LINE,
    )  # fmt: skip
    second = await add_run(db, agencies={"A01": {}})
    async with db.read() as conn:
        run = await runs.load(conn, second)
    assert run is not None
    return b, run


async def test_a_newer_run_changing_a_break_s_facts_moves_its_version_on_with_an_audit_entry(db: Database) -> None:
    b, run = await _seeded(db)

    async with db.transaction() as conn:
        await findings.write_breaks(conn, run, [found(hub_amount=148_000, line=5)], now_utc())

    async with db.read() as conn:
        detail = await get_break(conn, LAN.scope, b)
    assert (detail.item.version, detail.item.hub_amount, detail.item.run_id) == (2, 148_000, run.id)
    [entry] = detail.history
    assert (entry.actor, entry.action, entry.agency_code, entry.note) == (
        staff.SYSTEM, "break.facts_changed", "A01", f"run {run.id}"
    )  # fmt: skip
    assert entry.before == {"hub_amount": 149_000, "facts": {"hub_amount": 149_000, "line": 4}}
    assert entry.after == {"hub_amount": 148_000, "facts": {"hub_amount": 148_000, "line": 5}}
    with pytest.raises(Refused) as refused:
        await breaks.resolve(db, LAN, b, 1, "đã đối chiếu với 149.000 đồng")
    assert (refused.value.code, refused.value.extra) == ("break_changed", {"current_version": 2})


async def test_a_newer_run_finding_the_same_facts_changes_neither_version_nor_trail(db: Database) -> None:
    b, run = await _seeded(db)

    async with db.transaction() as conn:
        await findings.write_breaks(conn, run, [found()], now_utc())

    async with db.read() as conn:
        detail = await get_break(conn, LAN.scope, b)
    assert (detail.item.version, detail.item.run_id, detail.history) == (1, run.id, [])
    assert (await breaks.resolve(db, LAN, b, 1, "ngân hàng xác nhận")).status == "resolved"


async def test_a_run_holds_the_breaks_it_changes_until_it_commits(db: Database) -> None:
    b, run = await _seeded(db)

    async with db.transaction() as conn:
        await findings.write_breaks(conn, run, [found(hub_amount=148_000)], now_utc())
        # a staff change takes the break as below, and must wait: on SQLite for the database's write lock (its
        # BEGIN IMMEDIATE), on PostgreSQL for the break's row lock (its SELECT … FOR UPDATE)
        if db.is_sqlite:
            path = db.engine.url.database
            assert path
            probe = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    probe.execute("BEGIN IMMEDIATE")
            finally:
                probe.close()
        else:
            async with db.engine.connect() as staff_conn:
                with pytest.raises(sa.exc.DBAPIError, match="lock"):
                    await staff_conn.execute(
                        sa.text("SELECT id FROM reconciliation_breaks WHERE id = :id FOR UPDATE NOWAIT"), {"id": b}
                    )

    with pytest.raises(Refused) as refused:
        await breaks.resolve(db, LAN, b, 1, "đã đối chiếu với 149.000 đồng")
    assert refused.value.code == "break_changed"


async def _until_someone_waits_for_a_lock(db: Database) -> None:
    """Return once a session of this database waits for a lock (PostgreSQL); fail after ten seconds."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + 10
    async with db.engine.connect() as conn:
        while not (await conn.execute(query)).scalar_one():
            assert asyncio.get_running_loop().time() < deadline, "the run never waited for the staff change"
            await asyncio.sleep(0.01)
            await conn.rollback()  # a fresh snapshot of the activity view


async def test_a_run_does_not_undo_a_staff_change_that_came_first(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers: a run's transaction waits for the staff change's whole")
    b, run = await _seeded(db)

    async def republished() -> None:  # the day's file no longer holds the break: the run would clear it
        async with db.transaction() as conn:
            await findings.write_breaks(conn, run, [], now_utc())

    async with db.transaction() as conn:
        row = await breaks.locked(conn, LAN.scope, b)
        await breaks.change(
            conn, row, lambda s: resolved(s, "manual", "đã xử lý"), actor="lan", action="break.resolved", at=now_utc()
        )
        running = asyncio.create_task(republished())
        await _until_someone_waits_for_a_lock(db)
    await running

    async with db.read() as conn:
        detail = await get_break(conn, LAN.scope, b)
    assert (detail.item.status, detail.item.resolution, detail.item.resolved_by) == ("resolved", "manual", "lan")
    assert [(e.actor, e.action) for e in detail.history] == [("lan", "break.resolved")]
