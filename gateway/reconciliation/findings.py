"""Writing what a run found: its breaks, kept across runs of the same day by ``(kind, day, key)``.

- A break found again keeps its id, status, assignment and history (its ``run_id`` and facts follow the run); one
  that was cleared or settled later is reopened.
- A break of the day that the new run no longer finds, and that is not resolved, is resolved as ``cleared``.
- A record still missing on a later day is not reported again: its first day's break stands, and when a later
  day's file settles the record, that break resolves itself as ``settled_later``.

Every status change is one ``staff_audit`` entry, actor ``system``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import staff
from gateway.ids import new_id
from gateway.store.tables import reconciliation as rt
from reconciliation.engine import LineClass

from .runs import Run

B = rt.reconciliation_breaks.c
# Our-side breaks that later runs keep looking for (the record is carried): reported once, on their first day.
CARRIED = frozenset({LineClass.MISSING_AT_HUB.value, LineClass.COD_NOT_REMITTED.value})
INSERT_ROWS = 1000


class Status(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class Resolution(enum.StrEnum):
    MANUAL = "manual"
    HUB_QUERY = "hub_query"
    SETTLED_LATER = "settled_later"
    CLEARED = "cleared"


AUTOMATIC = frozenset({Resolution.SETTLED_LATER.value, Resolution.CLEARED.value})


@dataclass(frozen=True)
class Found:
    """One break as a run found it."""

    key: str
    code: str
    agency: str = ""  # the agency the line names (ours for a record no line lists)
    our_agency: str = ""  # the agency of our record the line is about, when we hold one
    reference: str = ""
    transaction_id: str = ""
    our_id: str = ""
    hub_amount: int | None = None
    our_amount: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def _state(row: Any) -> dict[str, Any]:
    return {
        "status": row["status"],
        "assigned_to": row["assigned_to"],
        "resolution": row["resolution"],
        "note": row["note"],
    }


async def _change(
    conn: AsyncConnection, row: dict[str, Any], values: dict[str, Any], action: str, now: datetime
) -> None:
    """Change a break's status, with its audit entry."""
    after = {**row, **values}
    await conn.execute(
        rt.reconciliation_breaks.update()
        .where(B.id == row["id"])
        .values(**values, version=row["version"] + 1, updated_at=now)
    )
    await staff.record(
        conn,
        at=now,
        actor=staff.SYSTEM,
        action=action,
        subject_type="break",
        subject_id=row["id"],
        agency_code=row["agency_code"],
        before=_state(row),
        after=_state(after),
    )


def _resolved(resolution: Resolution, now: datetime) -> dict[str, Any]:
    return {
        "status": Status.RESOLVED.value,
        "resolution": resolution.value,
        "resolved_by": staff.SYSTEM,
        "resolved_at": now,
    }


async def _rows(conn: AsyncConnection, *where: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in await conn.execute(select(rt.reconciliation_breaks).where(*where))]


async def _reported_before(conn: AsyncConnection, run: Run, found: list[Found]) -> set[str]:
    """Keys of carried breaks already reported on an earlier day (and not cleared since)."""
    keys = [f.key for f in found if f.code in CARRIED]
    seen: set[str] = set()
    for start in range(0, len(keys), 500):
        rows = await _rows(
            conn,
            B.kind == run.kind,
            B.day < run.day,
            B.key.in_(keys[start : start + 500]),
            B.resolution != Resolution.CLEARED.value,
        )
        seen.update(row["key"] for row in rows)
    return seen


def _new(run: Run, found: Found, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("brk"),
        "kind": run.kind,
        "day": run.day,
        "key": found.key,
        "code": found.code,
        "agency_code": found.agency,
        "our_agency_code": found.our_agency,
        "run_id": run.id,
        "first_run_id": run.id,
        "reference": found.reference,
        "transaction_id": found.transaction_id,
        "our_id": found.our_id,
        "hub_amount": found.hub_amount,
        "our_amount": found.our_amount,
        "facts": found.facts,
        "status": Status.OPEN.value,
        "created_at": now,
        "updated_at": now,
    }


async def _seen_again(conn: AsyncConnection, row: dict[str, Any], found: Found, run: Run, now: datetime) -> None:
    facts = {"run_id": run.id, "facts": found.facts, "hub_amount": found.hub_amount, "our_amount": found.our_amount}
    await conn.execute(rt.reconciliation_breaks.update().where(B.id == row["id"]).values(**facts, updated_at=now))
    if row["status"] == Status.RESOLVED and row["resolution"] in AUTOMATIC:
        status = Status.ASSIGNED if row["assigned_to"] else Status.OPEN
        reopened = {"status": status.value, "resolution": "", "resolved_by": "", "resolved_at": None}
        await _change(conn, row, reopened, "break.reopened", now)


async def write_breaks(conn: AsyncConnection, run: Run, found: Iterable[Found], now: datetime) -> int:
    """The run's breaks, per the model above; how many breaks the run holds."""
    found = list({f.key: f for f in found}.values())
    already = await _reported_before(conn, run, found)
    found = [f for f in found if f.key not in already]
    existing = {row["key"]: row for row in await _rows(conn, B.kind == run.kind, B.day == run.day)}
    fresh = [_new(run, f, now) for f in found if f.key not in existing]
    for start in range(0, len(fresh), INSERT_ROWS):
        await conn.execute(rt.reconciliation_breaks.insert(), fresh[start : start + INSERT_ROWS])
    for f in found:
        if f.key in existing:
            await _seen_again(conn, existing[f.key], f, run, now)
    keys = {f.key for f in found}
    for key, row in existing.items():
        if key not in keys and row["status"] != Status.RESOLVED:
            await _change(conn, row, _resolved(Resolution.CLEARED, now), "break.cleared", now)
    return len(found)


async def open_carried(conn: AsyncConnection, run: Run) -> dict[str, dict[str, Any]]:
    """Unresolved carried breaks of earlier days, by our record's id: what this run may settle."""
    rows = await _rows(
        conn, B.kind == run.kind, B.day < run.day, B.code.in_(sorted(CARRIED)), B.status != Status.RESOLVED.value
    )
    return {row["our_id"]: row for row in rows}


async def settle_later(conn: AsyncConnection, rows: Iterable[dict[str, Any]], run: Run, now: datetime) -> int:
    """Resolve earlier days' breaks whose records this run's file settled."""
    count = 0
    for row in rows:
        values = {**_resolved(Resolution.SETTLED_LATER, now), "note": f"run {run.id} of {run.day.isoformat()}"}
        await _change(conn, row, values, "break.settled_later", now)
        count += 1
    return count
