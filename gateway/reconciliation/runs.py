"""Recording runs: one day's file of one partner, once.

A run is recorded in one transaction under the day's row lock (``reconciliation_days``, ``FOR UPDATE`` on
PostgreSQL, SQLite's write lock): two workers finishing the same day at once record one run, the second finds the
first's. The same file again for the day changes nothing and answers the run that took it; a different file makes a
new completed run that supersedes the day's current one (both ids set); a refused file is a ``failed`` run with its
reason, which never becomes the day's current run (the same file refused again for the same reason answers it).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import dialect
from gateway.store.db import Database
from gateway.store.direct import insert_rows
from gateway.store.tables import reconciliation as rt

R = rt.reconciliation_runs.c
D = rt.reconciliation_days.c
W = rt.reconciliation_waiting.c
INSERT_ROWS = 5000


class Kind(enum.StrEnum):
    SETTLEMENT = "settlement"
    COD = "cod"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Trigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """A run as stored (``reconciliation_runs``)."""

    id: str
    kind: str
    day: date
    status: str
    trigger: str
    started_by: str
    file_sha256: str
    file_path: str
    file_bytes: int
    file_rows: int
    our_rows: int
    matched: int
    breaks: int
    hub_amount: int
    hub_fee: int
    hub_net: int
    our_amount: int
    classes: dict[str, Any]
    refusal_code: str
    refusal_message: str
    supersedes_id: str | None
    superseded_by_id: str | None
    started_at: datetime
    finished_at: datetime | None


class Recorded(msgspec.Struct, frozen=True):
    run: Run
    new: bool  # False: the same file was already reconciled for the day, nothing changed


def run_of(row: Any) -> Run:
    return msgspec.convert({str(name): value for name, value in row._asdict().items()}, Run)


async def load(conn: AsyncConnection, run_id: str) -> Run | None:
    row = (await conn.execute(select(rt.reconciliation_runs).where(R.id == run_id))).first()
    return None if row is None else run_of(row)


async def current(conn: AsyncConnection, kind: str, day: date) -> Run | None:
    """The day's current completed run, if any."""
    run_id = (await conn.execute(select(D.current_run_id).where(D.kind == kind, D.day == day))).scalar()
    return None if run_id is None else await load(conn, run_id)


async def same_file(conn: AsyncConnection, kind: str, day: date, sha256: str, refusal: str = "") -> Run | None:
    """The run that already took this file for the day: the current one; or, for a file refused again for the same
    reason, the latest refusal since (a file refused for a checksum may come again with the right one)."""
    now_current = await current(conn, kind, day)
    if now_current is not None and now_current.file_sha256 == sha256:
        return now_current
    if not refusal:
        return None
    query = select(rt.reconciliation_runs).where(R.kind == kind, R.day == day).order_by(R.started_at.desc()).limit(1)
    row = (await conn.execute(query)).first()
    latest = None if row is None else run_of(row)
    if latest is not None and latest.status == RunStatus.FAILED and latest.refusal_code == refusal:
        return latest if latest.file_sha256 == sha256 else None
    return None


async def previous(conn: AsyncConnection, kind: str, day: date, since: date) -> Run | None:
    """The current run of the latest day before ``day`` (not before ``since``) that has one."""
    query = (
        select(D.current_run_id)
        .where(D.kind == kind, D.day < day, D.day >= since, D.current_run_id.is_not(None))
        .order_by(D.day.desc())
        .limit(1)
    )
    run_id = (await conn.execute(query)).scalar()
    return None if run_id is None else await load(conn, run_id)


async def waiting_of(conn: AsyncConnection, run_id: str) -> list[tuple[str, date, str]]:
    """The records a run left waiting: (our id, the day their money moved, class)."""
    rows = await conn.execute(select(W.our_id, W.day, W.code).where(W.run_id == run_id))
    return [(our_id, day, code) for our_id, day, code in rows]


async def write_waiting(conn: AsyncConnection, run_id: str, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_ROWS):
        batch = [{"run_id": run_id, **row} for row in rows[start : start + INSERT_ROWS]]
        await insert_rows(conn, rt.reconciliation_waiting, batch)


async def _lock_kind(conn: AsyncConnection, kind: str) -> None:
    """Held by a run's recording transaction after its day's lock, so the checks of ``seen`` run one at a time
    (SQLite: its writers already do)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"reconciliation_runs:{kind}"))))


async def _lock_day(conn: AsyncConnection, kind: str, day: date, now: datetime) -> None:
    table = rt.reconciliation_days
    await conn.execute(dialect.insert(conn, table).values(kind=kind, day=day, updated_at=now).on_conflict_do_nothing())
    await conn.execute(dialect.locked(conn, select(D.kind).where(D.kind == kind, D.day == day)))


async def _make_current(conn: AsyncConnection, run: Run, now: datetime) -> Run:
    superseded = await current(conn, run.kind, run.day)
    if superseded is not None:
        await conn.execute(rt.reconciliation_runs.update().where(R.id == superseded.id).values(superseded_by_id=run.id))
        await conn.execute(rt.reconciliation_runs.update().where(R.id == run.id).values(supersedes_id=superseded.id))
    await conn.execute(
        rt.reconciliation_days.update()
        .where(D.kind == run.kind, D.day == run.day)
        .values(current_run_id=run.id, updated_at=now)
    )
    fresh = await load(conn, run.id)
    assert fresh is not None
    return fresh


Writer = Callable[[AsyncConnection, Run], Awaitable[dict[str, Any]]]


class NeighboursChanged(Exception):
    """Another day's run within the look-back became current while this run read and matched: what it read of the
    days around it may be stale, so it is not recorded (the run is made again)."""


async def neighbours(conn: AsyncConnection, kind: str, day: date, lookback_days: int) -> dict[date, str]:
    """The current runs of the days around ``day`` within the look-back, before and after: day → run id."""
    span = timedelta(days=lookback_days)
    query = select(D.day, D.current_run_id).where(
        D.kind == kind, D.current_run_id.is_not(None), D.day != day, D.day >= day - span, D.day <= day + span
    )
    return {row.day: row.current_run_id for row in await conn.execute(query)}


async def neighbours_of(db: Database, kind: str, day: date, lookback_days: int) -> dict[date, str]:
    async with db.read() as conn:
        return await neighbours(conn, kind, day, lookback_days)


async def record(
    db: Database,
    values: dict[str, Any],
    now: datetime,
    write: Writer | None = None,
    seen: tuple[int, dict[date, str]] | None = None,
) -> Recorded:
    """Record a finished run (``values``: its columns) under the day's lock, unless the day already has this file.

    A completed run becomes the day's current one, and ``write`` (its totals, breaks and waiting records, in the
    same transaction) may return final figures for its row (``breaks`` once the breaks are written). ``seen`` is
    (look-back days, ``neighbours`` as the run found them before it read anything): a completed run is then recorded
    only if they are still the same, checked under a lock every run of the kind takes, so of two runs of days
    around each other recorded at once, the second sees the first, or is refused (``NeighboursChanged``)."""
    kind, day = values["kind"], values["day"]
    async with db.transaction() as conn:
        await _lock_day(conn, kind, day, now)
        found = await same_file(conn, kind, day, values["file_sha256"], values.get("refusal_code", ""))
        if found is not None:
            return Recorded(found, False)
        if seen is not None and values["status"] == RunStatus.COMPLETED.value:
            await _lock_kind(conn, kind)
            if await neighbours(conn, kind, day, seen[0]) != seen[1]:
                raise NeighboursChanged(f"{kind} {day}: a run of a day around it was recorded meanwhile")
        await conn.execute(rt.reconciliation_runs.insert().values(**values))
        run = await load(conn, values["id"])
        assert run is not None
        if run.status != RunStatus.COMPLETED:
            return Recorded(run, True)
        run = await _make_current(conn, run, now)
        if write is not None:
            final = await write(conn, run)
            if final:
                await conn.execute(rt.reconciliation_runs.update().where(R.id == run.id).values(**final))
                run = msgspec.structs.replace(run, **final)
        return Recorded(run, True)


async def find_same_file(db: Database, kind: str, day: date, sha256: str) -> Run | None:
    """Before any work: the day's current run, if it took this very file."""
    async with db.read() as conn:
        return await same_file(conn, kind, day, sha256)
