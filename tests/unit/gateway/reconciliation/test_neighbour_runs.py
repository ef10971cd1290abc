"""Two runs of days around each other recorded at once: the one recorded second must have read the first, or it is
refused and made again, on PostgreSQL and SQLite. A run reads the days around it (the run it carries records from,
later runs that may have settled its payments) before it matches; one that became current meanwhile makes what it
read stale."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.vntime import now_utc
from gateway.reconciliation.files import KeptFile
from gateway.reconciliation.pipeline import new_run_values
from gateway.reconciliation.runs import (
    Kind,
    NeighboursChanged,
    RunStatus,
    Trigger,
    current,
    neighbours_of,
    record,
)
from gateway.store.db import Database

DAY = date(2026, 11, 20)
LOOKBACK = 7


def completed(day: date, sha: str) -> dict[str, object]:
    kept = KeptFile(sha, Path(f"/data/files/{sha}.csv"), 10)
    values = new_run_values(Kind.SETTLEMENT, day, kept, Trigger.MANUAL, "test", now_utc())
    return {**values, "status": RunStatus.COMPLETED.value, "finished_at": now_utc()}


async def test_a_run_whose_neighbours_changed_while_it_ran_is_refused_and_writes_nothing(db: Database) -> None:
    seen = (LOOKBACK, await neighbours_of(db, Kind.SETTLEMENT.value, DAY, LOOKBACK))
    assert seen[1] == {}
    later = await record(db, completed(DAY + timedelta(days=1), "b" * 64), now_utc())  # recorded meanwhile

    with pytest.raises(NeighboursChanged):
        await record(db, completed(DAY, "a" * 64), now_utc(), seen=seen)

    async with db.read() as conn:
        assert await current(conn, Kind.SETTLEMENT.value, DAY) is None
    again = (LOOKBACK, await neighbours_of(db, Kind.SETTLEMENT.value, DAY, LOOKBACK))
    assert again[1] == {DAY + timedelta(days=1): later.run.id}
    assert (await record(db, completed(DAY, "a" * 64), now_utc(), seen=again)).new


async def test_days_beyond_the_look_back_and_the_run_s_own_day_are_not_its_neighbours(db: Database) -> None:
    seen = (LOOKBACK, await neighbours_of(db, Kind.SETTLEMENT.value, DAY, LOOKBACK))
    await record(db, completed(DAY + timedelta(days=LOOKBACK + 1), "c" * 64), now_utc())
    await record(db, completed(DAY, "d" * 64), now_utc())  # the day's own earlier file: superseded, not a neighbour

    assert (await record(db, completed(DAY, "e" * 64), now_utc(), seen=seen)).new
