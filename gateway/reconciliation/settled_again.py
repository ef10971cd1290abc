"""A payment that the hub's files of two days both settle: a double settlement across days, a ``settled_again`` break.

The engine sees one day's records: a payment whose money moved on an earlier day and that an earlier run settled is
not among them, so a row of it in a later file is ``missing_in_ours``, and asking the hub about it would only hear
"paid" and close the break. Here, before the run is recorded, each such row whose reference is a payment we hold as
collected, of the agency the row names, is looked up in the earlier runs: when a day's current run took the payment
(its own record, or one the run before it left waiting) and did not leave it waiting, that day's file settled it.
The row is then a break of its own kind (``settled_again``), which the automatic resolution never asks about.

Which records a run took follows ``ours.carry_for`` (``took``): the records whose money moved after the previous
run's day (the day before, when no run within the look-back precedes it) and those the previous run left waiting,
within the look-back window.

Out of day order. A later day's file may be reconciled first (the earlier day's file published late, or republished
after the later day's run): the later run took the payment (no run of the earlier day yet, or one that left it
waiting) and settled it, and the earlier day's run, recorded after, settles it too (a row the engine matched to it,
on time or late, or a ``missing_in_ours`` row of it). So the run also looks at the current runs of the later days
within the look-back window (``settled_later``): whether such a run took the payment follows the run that was
current for the latest day before it *when it started* (the runs' start, finish and superseding times tell), not the
one current now, which may be a run recorded after it, or the very run this one supersedes.

Which run carries the break: the one recorded second, in either order, on its own day and its own row (its key
``settled_again:<the row's transaction id>``). The break's agencies are the row's and the payment's, so the staff of
the payment's agency see it; its facts are the row's with the payment (``our_id``, ``our_amount``, ``our_status``,
``our_day``, ``our_agency``) and the other day whose file settled it (``settled_day``); a break found out of day
order says so (``settled_day_is_later``: the other day is the later one). A matched row made a break stays counted
as matched in the run's figures (it did settle our record); a ``missing_in_ours`` row made one is counted as
``settled_again``. Only staff resolve such a break (``findings.BY_STAFF_ONLY``). The same file twice answers the run
that took it and changes nothing; a republished file of the day that carries the break finds it again by its key
(or leaves it to staff, told that the file no longer has the row); a republished later day's file, reconciled after
the earlier day's now, sees the earlier settlement in day order and carries a break of its own about its own row,
the earlier day's break staying as it is for staff.

Both directions take a record whose money moved by a run's day as one that run read: a payment recorded as collected
only after the run read our records (a lost callback found later) may be taken for one it settled. The rule then errs
towards a break for staff to look at, never towards a double settlement unseen.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import VN_TZ
from gateway.payments import CollectedPayment, collected_by_reference
from gateway.store.db import Database
from gateway.store.tables import reconciliation as rt
from reconciliation.engine import as_break
from reconciliation.reasons import LABELS, LineClass

from .findings import Found
from .runs import Kind, RunStatus
from .settlement_findings import found_of

D = rt.reconciliation_days.c
R = rt.reconciliation_runs.c
W = rt.reconciliation_waiting.c
IDS_PER_QUERY = 500
LINES_PER_BATCH = 10_000
MISSING_IN_OURS = LineClass.MISSING_IN_OURS.value
SETTLED_AGAIN = LineClass.SETTLED_AGAIN

Previous = tuple[date, str] | None  # the run a run carried records from: (its day, its id)


def moved_day(payment: CollectedPayment) -> date:
    """The Vietnam day the payment's money moved."""
    return payment.paid_at.astimezone(VN_TZ).date()


def took(moved: date, day: date, before: Previous, waited_in: set[str], lookback: timedelta) -> bool:
    """Whether the run of ``day`` took a record whose money moved on ``moved``, ``before`` being the run it carried
    records from (within the look-back) and ``waited_in`` the ids of the runs that left the record waiting."""
    if not day - lookback <= moved <= day:
        return False
    after_day = before[0] if before is not None else day - timedelta(days=1)
    return moved > after_day or (before is not None and before[1] in waited_in)


def settled_on(moved: date, days: list[tuple[date, str]], waited_in: set[str], lookback: timedelta) -> date | None:
    """The day whose current run settled a record whose money moved on ``moved``: ``days`` are the current runs
    (day, run id) in day order, each taken to carry records from the one before it, ``waited_in`` the ids of the
    runs that left the record waiting."""
    previous: Previous = None
    for day, run_id in days:
        before = previous if previous is not None and previous[0] >= day - lookback else None
        if took(moved, day, before, waited_in, lookback) and run_id not in waited_in:
            return day
        previous = (day, run_id)
    return None


@dataclass(frozen=True)
class LaterRun:
    """A later day's current run, with the run it carried records from when it started."""

    day: date
    run_id: str
    before: Previous


def settled_later(
    moved: date, day: date, later: list[LaterRun], waited_in: set[str], lookback: timedelta
) -> date | None:
    """The first day after ``day`` whose current run (``later``, in day order) settled a record whose money moved on
    ``moved``: it took the record and did not leave it waiting."""
    for run in later:
        if run.day > day and took(moved, run.day, run.before, waited_in, lookback) and run.run_id not in waited_in:
            return run.day
    return None


@dataclass(frozen=True)
class StoredRun:
    """A completed run's times: when it started and finished, and when the run superseding it finished (if any)."""

    id: str
    day: date
    started_at: datetime
    finished_at: datetime
    superseded_at: datetime | None


def before_at_start(run: StoredRun, runs: Iterable[StoredRun], lookback: timedelta) -> Previous:
    """The run ``run`` carried records from: of the runs of the days before it within the look-back, the latest
    day's that was current when it started (finished by then, and not yet superseded)."""
    current = [
        r
        for r in runs
        if run.day - lookback <= r.day < run.day
        and r.finished_at <= run.started_at
        and (r.superseded_at is None or r.superseded_at > run.started_at)
    ]
    latest = max(current, key=lambda r: (r.day, r.finished_at), default=None)
    return None if latest is None else (latest.day, latest.id)


async def _waited(conn: AsyncConnection, ids: list[str], run_ids: list[str]) -> dict[str, set[str]]:
    """Of our records ``ids``, the runs among ``run_ids`` that left each waiting."""
    waited: dict[str, set[str]] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        rows = await conn.execute(
            select(W.our_id, W.run_id).where(W.our_id.in_(ids[start : start + IDS_PER_QUERY]), W.run_id.in_(run_ids))
        )
        for our_id, run_id in rows:
            waited.setdefault(our_id, set()).add(run_id)
    return waited


async def earlier_settlements(
    conn: AsyncConnection, moved: dict[str, date], day: date, lookback_days: int
) -> dict[str, date]:
    """Of our records (id → the day their money moved), those an earlier day's settlement file settled: id → that
    day."""
    if not moved:
        return {}
    lookback = timedelta(days=lookback_days)
    query = (
        select(D.day, D.current_run_id)
        .where(
            D.kind == Kind.SETTLEMENT.value,
            D.current_run_id.is_not(None),
            D.day < day,
            D.day >= min(moved.values()) - lookback,
        )
        .order_by(D.day)
    )
    days = [(row.day, row.current_run_id) for row in await conn.execute(query)]
    if not days:
        return {}
    waited = await _waited(conn, sorted(moved), [run_id for _, run_id in days])
    found = {}
    for our_id, moved_on in moved.items():
        settled = settled_on(moved_on, days, waited.get(our_id, set()), lookback)
        if settled is not None:
            found[our_id] = settled
    return found


async def later_runs(conn: AsyncConnection, day: date, lookback: timedelta) -> list[LaterRun]:
    """The current settlement runs of the days after ``day`` within the look-back, in day order, each with the run it
    carried records from when it started."""
    query = select(D.day, D.current_run_id).where(
        D.kind == Kind.SETTLEMENT.value, D.current_run_id.is_not(None), D.day > day, D.day <= day + lookback
    )
    current = sorted((row.day, row.current_run_id) for row in await conn.execute(query))
    if not current:
        return []
    stored = await conn.execute(
        select(R.id, R.day, R.started_at, R.finished_at, R.superseded_by_id).where(
            R.kind == Kind.SETTLEMENT.value,
            R.status == RunStatus.COMPLETED.value,
            R.day >= current[0][0] - lookback,
            R.day <= current[-1][0],
        )
    )
    rows = list(stored)
    finished = {row.id: row.finished_at for row in rows}
    runs = {
        row.id: StoredRun(row.id, row.day, row.started_at, row.finished_at, finished.get(row.superseded_by_id))
        for row in rows
    }
    return [LaterRun(d, run_id, before_at_start(runs[run_id], runs.values(), lookback)) for d, run_id in current]


async def later_settlements(
    conn: AsyncConnection, moved: dict[str, date], later: list[LaterRun], day: date, lookback: timedelta
) -> dict[str, date]:
    """Of our records (id → the day their money moved), those a later day's current run settled: id → that day."""
    if not moved or not later:
        return {}
    run_ids = sorted({run.run_id for run in later} | {run.before[1] for run in later if run.before is not None})
    waited = await _waited(conn, sorted(moved), run_ids)
    found = {}
    for our_id, moved_on in moved.items():
        settled = settled_later(moved_on, day, later, waited.get(our_id, set()), lookback)
        if settled is not None:
            found[our_id] = settled
    return found


def _candidates(found: Iterable[Found]) -> dict[str, Found]:
    """The run's ``missing_in_ours`` payment rows, by reference."""
    rows = (f for f in found if f.code == MISSING_IN_OURS and f.reference and f.facts.get("kind") == "payment")
    return {f.reference: f for f in rows}


def _again(f: Found, record: dict[str, Any], other_day: date, later: bool) -> Found:
    """The row ``f`` as a ``settled_again`` break about our payment ``record`` (its ``our_…`` facts), which the file
    of ``other_day`` settled too."""
    identity = f.key.split(":", 1)[1]
    facts = {**f.facts, "code": SETTLED_AGAIN.value, "label": LABELS[SETTLED_AGAIN], **record}
    facts["settled_day"] = other_day.isoformat()
    if later:
        facts["settled_day_is_later"] = True
    return dataclasses.replace(
        f,
        key=f"{SETTLED_AGAIN.value}:{identity}",
        code=SETTLED_AGAIN.value,
        our_agency=record["our_agency"],
        our_id=record["our_id"],
        our_amount=record["our_amount"],
        facts=facts,
    )


def _record(payment: CollectedPayment) -> dict[str, Any]:
    return {
        "our_id": payment.id,
        "our_amount": payment.amount,
        "our_status": payment.status,
        "our_day": moved_day(payment).isoformat(),
        "our_agency": payment.agency_code,
    }


def _record_of_line(row: dict[str, Any]) -> dict[str, Any]:
    names = ("our_id", "our_amount", "our_status", "our_agency")
    return {**{name: row[name] for name in names}, "our_day": row["our_day"].isoformat()}


async def _lines_settled_later(
    conn: AsyncConnection, settled: pl.LazyFrame, later: list[LaterRun], day: date, lookback: timedelta
) -> list[Found]:
    """Of the run's rows that settled a payment of ours (``settled``: lines with ``our_id`` and ``our_day``), those
    whose payment a later day's current run settled too, as ``settled_again`` breaks. Read in batches: a day's file
    may settle millions."""
    ids = await asyncio.to_thread(lambda: settled.select("our_id", "our_day").collect())
    hits: dict[str, date] = {}
    for batch in ids.iter_slices(LINES_PER_BATCH):
        moved = dict(zip(batch["our_id"].to_list(), batch["our_day"].to_list(), strict=True))
        hits.update(await later_settlements(conn, moved, later, day, lookback))
    if not hits:
        return []
    lines = await asyncio.to_thread(lambda: settled.filter(pl.col("our_id").is_in(list(hits))).collect().to_dicts())
    return [_again(found_of(as_break(row)), _record_of_line(row), hits[row["our_id"]], True) for row in lines]


async def later_runs_of(db: Database, day: date, lookback_days: int) -> list[LaterRun]:
    """``later_runs`` on a connection of its own: asked before the match, which keeps the rows that settled a
    payment on their own day (``settled``) only when a later day's run may have settled it too."""
    async with db.read() as conn:
        return await later_runs(conn, day, timedelta(days=lookback_days))


async def find(
    db: Database, found: list[Found], settled: pl.LazyFrame, later: list[LaterRun], day: date, lookback_days: int
) -> tuple[list[Found], list[Found]]:
    """The run's breaks with its double settlements told apart, and the ``missing_in_ours`` rows made
    ``settled_again`` (the run's figures count them there). A ``missing_in_ours`` row of a payment we hold as
    collected, of the row's agency, that an earlier day's file settled, or else a later day's, is made a
    ``settled_again`` break; and one is added for each row of ``settled`` (the rows that settled a payment of ours)
    whose payment a later day's file settled too; ``later`` is ``later_runs_of`` the day, asked before the match."""
    lookback = timedelta(days=lookback_days)
    candidates = _candidates(found)
    async with db.read() as conn:
        collected = await collected_by_reference(conn, candidates) if candidates else {}
        ours = {ref: payment for ref, payment in collected.items() if payment.agency_code == candidates[ref].agency}
        moved = {payment.id: moved_day(payment) for payment in ours.values()}
        earlier = await earlier_settlements(conn, {i: m for i, m in moved.items() if m < day}, day, lookback_days)
        not_earlier = {i: m for i, m in moved.items() if i not in earlier}
        after = await later_settlements(conn, not_earlier, later, day, lookback)
        added = await _lines_settled_later(conn, settled, later, day, lookback) if later else []
    again: dict[str, Found] = {}  # by the key of the row's missing_in_ours break
    for reference, payment in ours.items():
        row = candidates[reference]
        if payment.id in earlier:
            again[row.key] = _again(row, _record(payment), earlier[payment.id], False)
        elif payment.id in after:
            again[row.key] = _again(row, _record(payment), after[payment.id], True)
    return [again.get(f.key, f) for f in found] + added, list(again.values())
