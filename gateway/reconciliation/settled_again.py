"""A hub row settling again a payment that an earlier day's file already settled: a double settlement across days.

The engine sees one day's records: a payment whose money moved on an earlier day and that an earlier run settled is
not among them, so a row of it in a later file is ``missing_in_ours``, and asking the hub about it would only hear
"paid" and close the break. Here, before the run is recorded, each such row whose reference is a payment we hold as
collected, of the agency the row names, is looked up in the earlier runs: when a day's current run took the payment
(its own record, or one the run before it left waiting) and did not leave it waiting, that day's file settled it.
The row is then a break of its own kind (``settled_again``), which the automatic resolution never asks about.

Which records a run took follows ``ours.carry_for`` (``took``): the records whose money moved after the previous
run's day (the day before, when no run within the look-back precedes it) and those the previous run left waiting,
within the look-back window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import VN_TZ
from gateway.payments import CollectedPayment, collected_by_reference
from gateway.store.db import Database
from gateway.store.tables import reconciliation as rt
from reconciliation.reasons import LABELS, LineClass

from .findings import Found
from .runs import Kind

D = rt.reconciliation_days.c
W = rt.reconciliation_waiting.c
IDS_PER_QUERY = 500
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
    run_ids = [run_id for _, run_id in days]
    waited: dict[str, set[str]] = {}
    ids = sorted(moved)
    for start in range(0, len(ids), IDS_PER_QUERY):
        rows = await conn.execute(
            select(W.our_id, W.run_id).where(W.our_id.in_(ids[start : start + IDS_PER_QUERY]), W.run_id.in_(run_ids))
        )
        for our_id, run_id in rows:
            waited.setdefault(our_id, set()).add(run_id)
    found = {}
    for our_id, moved_on in moved.items():
        settled = settled_on(moved_on, days, waited.get(our_id, set()), lookback)
        if settled is not None:
            found[our_id] = settled
    return found


def _candidates(found: Iterable[Found]) -> dict[str, Found]:
    """The run's ``missing_in_ours`` payment rows, by reference."""
    rows = (f for f in found if f.code == MISSING_IN_OURS and f.reference and f.facts.get("kind") == "payment")
    return {f.reference: f for f in rows}


def _again(f: Found, payment: CollectedPayment, settled: date) -> Found:
    identity = f.key.split(":", 1)[1]
    record = {
        "our_id": payment.id,
        "our_amount": payment.amount,
        "our_status": payment.status,
        "our_day": moved_day(payment).isoformat(),
        "our_agency": payment.agency_code,
        "settled_day": settled.isoformat(),
    }
    facts = {**f.facts, "code": SETTLED_AGAIN.value, "label": LABELS[SETTLED_AGAIN], **record}
    return dataclasses.replace(
        f,
        key=f"{SETTLED_AGAIN.value}:{identity}",
        code=SETTLED_AGAIN.value,
        our_agency=payment.agency_code,
        our_id=payment.id,
        our_amount=payment.amount,
        facts=facts,
    )


async def find(db: Database, found: list[Found], day: date, lookback_days: int) -> tuple[list[Found], list[Found]]:
    """The run's breaks with each ``missing_in_ours`` row that settles again a payment an earlier day's file settled
    made a ``settled_again`` break; and those breaks."""
    candidates = _candidates(found)
    if not candidates:
        return found, []
    async with db.read() as conn:
        collected = await collected_by_reference(conn, candidates)
        ours = {
            reference: payment
            for reference, payment in collected.items()
            if payment.agency_code == candidates[reference].agency and moved_day(payment) < day
        }
        earlier = await earlier_settlements(conn, {p.id: moved_day(p) for p in ours.values()}, day, lookback_days)
    again: dict[str, Found] = {}  # by the key of the row's missing_in_ours break
    for reference, payment in ours.items():
        if payment.id in earlier:
            row = candidates[reference]
            again[row.key] = _again(row, payment, earlier[payment.id])
    if not again:
        return found, []
    return [again.get(f.key, f) for f in found], list(again.values())
