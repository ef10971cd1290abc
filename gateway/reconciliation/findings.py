"""Writing what a run found: its breaks, kept across runs of the same day by ``(kind, day, key)``.

- A break found again keeps its id, status, assignment and history (its ``run_id`` and facts follow the run); one
  that was cleared or settled later is reopened. A change of its facts (amounts, agencies, the line) is a change of
  the break like a staff member's: its ``version`` moves on, so a form posted on the old facts is refused as stale,
  and it is an audit entry (``break.facts_changed``) with the facts before and after.
- A break that keeps its assignee across such a change (reopened, its facts or agencies changed) keeps it only while
  the account may still work it (``staff.break_assignee``); else it is open again, assigned to no one
  (``break.assignee_dropped``). So does every unresolved break assigned to an account whose access changes
  (disabled, a viewer now, other agencies): ``AssignedBreaks``, the staff area's ``AssignedWork``, applies the same
  check in the account change's transaction.
- A break of the day that the new run no longer finds, and that is not resolved, is resolved as ``cleared``; but
  one only staff resolve (``BY_STAFF_ONLY``: an agency mismatch, a payment settled again) stays as it is, with an
  audit entry (``break.not_found_again``).
- A record still missing on a later day is not reported again: its first day's break stands, and when a later
  day's file settles the record (a row naming the record's agency), that break resolves itself as
  ``settled_later``.

Every status change is one ``staff_audit`` entry, actor ``system``. A run takes the breaks it may change under row
locks (``FOR UPDATE`` on PostgreSQL, in id order; SQLite's write lock serialises writers), in the transaction that
records it, so no staff change interleaves: one that comes first is seen by the run, one that comes after finds the
version the run left.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import staff
from gateway.ids import new_id
from gateway.store import dialect
from gateway.store.direct import insert_rows
from gateway.store.tables import reconciliation as rt
from reconciliation.engine import LineClass

from .runs import Run

B = rt.reconciliation_breaks.c
# Our-side breaks that later runs keep looking for (the record is carried): reported once, on their first day.
CARRIED = frozenset({LineClass.MISSING_AT_HUB.value, LineClass.COD_NOT_REMITTED.value})
INSERT_ROWS = 1000
# A break's facts besides the engine's line (``facts``): what a newer run or the automatic resolution may change.
FACT_COLUMNS = ("agency_code", "our_agency_code", "reference", "transaction_id", "our_id", "hub_amount", "our_amount")
FACTS_CHANGED = "break.facts_changed"
# The system took the break back from an account that may no longer work it (``recheck_assignee``).
ASSIGNEE_DROPPED = "break.assignee_dropped"


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
# Breaks only staff resolve: no automatic path (a newer run's clearing, a later day's file, the hub's answer) closes
# them. An agency mismatch: the hub's word on which agency's money it is cannot settle the question. A payment settled
# again on another day: money the hub may have paid out twice, whatever a later file says.
BY_STAFF_ONLY = frozenset({LineClass.AGENCY_MISMATCH.value, LineClass.SETTLED_AGAIN.value})
NOT_FOUND_AGAIN = "break.not_found_again"


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


async def _moved_on(conn: AsyncConnection, row: dict[str, Any], values: dict[str, Any], now: datetime) -> None:
    """Write ``values`` and the next version on the locked ``row``."""
    done = await conn.execute(
        rt.reconciliation_breaks.update()
        .where(B.id == row["id"], B.version == row["version"])
        .values(**values, version=row["version"] + 1, updated_at=now)
    )
    if done.rowcount != 1:  # pragma: no cover - the row is locked: nobody can have moved it on
        raise RuntimeError(f"break {row['id']} changed under its lock")


async def _change(
    conn: AsyncConnection, row: dict[str, Any], values: dict[str, Any], action: str, now: datetime, note: str = ""
) -> dict[str, Any]:
    """Change a break's status, with its audit entry; the row as it now is."""
    after = {**row, **values}
    await _moved_on(conn, row, values, now)
    await _system_entry(conn, row, action, _state(row), _state(after), now, note)
    return {**after, "version": row["version"] + 1}


def dropped_note(username: str) -> str:
    return (
        f"Tài khoản {username} không còn được giao xử lý chênh lệch này (tài khoản đã bị khóa, không có quyền xử lý "
        "chênh lệch hoặc không thuộc đơn vị của chênh lệch): chênh lệch trở lại trạng thái chưa giao."
    )


async def recheck_assignee(conn: AsyncConnection, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A locked break that keeps its assignee across a change (reopened, its facts or agencies changed) keeps it
    only while the account may still work it (``staff.break_assignee``: an enabled officer or admin of one of the
    break's agencies, read in this transaction); else the break is open again, assigned to no one, with a system
    audit entry saying so. The row as it now is."""
    if row["status"] != Status.ASSIGNED or not row["assigned_to"]:
        return row
    agencies = (row["agency_code"], row["our_agency_code"])
    if await staff.break_assignee(conn, row["assigned_to"], agencies) is not None:
        return row
    values = {"status": Status.OPEN.value, "assigned_to": "", "assigned_at": None}
    return await _change(conn, row, values, ASSIGNEE_DROPPED, now, dropped_note(row["assigned_to"]))


class AssignedBreaks:
    """The breaks assigned to a staff account, as the staff area's ``AssignedWork``: when the account's access
    changes, its unresolved breaks (of both kinds) are locked first, in id order as a run locks them, and after the
    change each is checked again with ``recheck_assignee``: one the account may no longer work is open again,
    assigned to no one, with the system's ``break.assignee_dropped`` entry."""

    async def hold(self, conn: AsyncConnection, username: str) -> None:
        await self._assigned(conn, username)

    async def recheck(self, conn: AsyncConnection, username: str, now: datetime) -> int:
        dropped = 0
        for row in await self._assigned(conn, username):
            dropped += (await recheck_assignee(conn, row, now))["status"] != row["status"]
        return dropped

    @staticmethod
    async def _assigned(conn: AsyncConnection, username: str) -> list[dict[str, Any]]:
        return await _rows(conn, B.assigned_to == username, B.status == Status.ASSIGNED.value, lock=True)


async def _system_entry(
    conn: AsyncConnection,
    row: dict[str, Any],
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
    note: str = "",
) -> None:
    """The audit entry of a change the system made to a break."""
    await staff.record(
        conn,
        at=now,
        actor=staff.SYSTEM,
        action=action,
        subject_type="break",
        subject_id=row["id"],
        agency_code=row["agency_code"],
        before=before,
        after=after,
        note=note,
    )


def _resolved(resolution: Resolution, now: datetime) -> dict[str, Any]:
    return {
        "status": Status.RESOLVED.value,
        "resolution": resolution.value,
        "resolved_by": staff.SYSTEM,
        "resolved_at": now,
    }


def _fact_changes(row: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``new`` (fact columns and ``facts``) changes of the break: the members before and after."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in FACT_COLUMNS:
        if name in new and new[name] != row[name]:
            before[name], after[name] = row[name], new[name]
    if "facts" in new:
        old, fresh = row["facts"] or {}, new["facts"] or {}
        members = sorted(name for name in old.keys() | fresh.keys() if old.get(name) != fresh.get(name))
        if members:
            before["facts"] = {name: old.get(name) for name in members}
            after["facts"] = {name: fresh.get(name) for name in members}
    return before, after


async def change_facts(
    conn: AsyncConnection, row: dict[str, Any], new: dict[str, Any], now: datetime, note: str = ""
) -> dict[str, Any]:
    """The system changes a locked break's facts: when anything differs, the row with its version moved on and one
    audit entry with what changed before and after, and its assignee checked again (``recheck_assignee``); the row
    as it now is."""
    before, after = _fact_changes(row, new)
    if not before:
        return row
    await _moved_on(conn, row, new, now)
    await _system_entry(conn, row, FACTS_CHANGED, before, after, now, note)
    return await recheck_assignee(conn, {**row, **new, "version": row["version"] + 1}, now)


async def _rows(conn: AsyncConnection, *where: Any, lock: bool = False) -> list[dict[str, Any]]:
    query = select(rt.reconciliation_breaks).where(*where)
    if lock:  # in one order for every run, so two runs locking some of the same breaks wait instead of deadlocking
        query = dialect.locked(conn, query.order_by(B.id))
    return [row._asdict() for row in await conn.execute(query)]


async def locked_break(conn: AsyncConnection, break_id: str) -> dict[str, Any] | None:
    """A break's row, locked until the transaction ends."""
    found = await _rows(conn, B.id == break_id, lock=True)
    return found[0] if found else None


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
        "run_id": run.id,
        "first_run_id": run.id,
        **_facts_of(found),
        "status": Status.OPEN.value,
        "created_at": now,
        "updated_at": now,
    }


def _facts_of(found: Found) -> dict[str, Any]:
    """What the run found of a break (the ``FACT_COLUMNS`` and its ``facts``): a new break's, or a newer run's."""
    return {
        "agency_code": found.agency,
        "our_agency_code": found.our_agency,
        "reference": found.reference,
        "transaction_id": found.transaction_id,
        "our_id": found.our_id,
        "hub_amount": found.hub_amount,
        "our_amount": found.our_amount,
        "facts": found.facts,
    }


async def _seen_again(conn: AsyncConnection, row: dict[str, Any], found: Found, run: Run, now: datetime) -> None:
    """The run found the break again: it is the run's now (not a change of the break), with the run's facts (a
    change, when they differ), and reopened if the system had resolved it."""
    facts = _facts_of(found)
    if not facts["our_agency_code"] and row["our_agency_code"]:
        # the run found no record of ours in its window, but the break's record is known (the automatic
        # resolution found it beyond the window): its agency keeps seeing the break
        facts["our_agency_code"] = row["our_agency_code"]
    row = await change_facts(conn, row, facts, now, note=f"run {run.id}")
    await conn.execute(rt.reconciliation_breaks.update().where(B.id == row["id"]).values(run_id=run.id))
    if row["status"] == Status.RESOLVED and row["resolution"] in AUTOMATIC:
        status = Status.ASSIGNED if row["assigned_to"] else Status.OPEN
        reopened = {"status": status.value, "resolution": "", "resolved_by": "", "resolved_at": None}
        row = await _change(conn, row, reopened, "break.reopened", now)
        await recheck_assignee(conn, row, now)


async def write_breaks(conn: AsyncConnection, run: Run, found: Iterable[Found], now: datetime) -> int:
    """The run's breaks, per the model above; how many breaks the run holds."""
    found = list({f.key: f for f in found}.values())
    # Every break this run may change (its day's, and the earlier days' carried breaks it may settle) is locked in
    # one statement, in id order: two runs of different days locking in two steps could each hold what the other
    # waits for. ``open_carried`` then reads rows this transaction already holds.
    locked = await _rows(conn, B.kind == run.kind, or_(B.day == run.day, _carried_before(run)), lock=True)
    already = await _reported_before(conn, run, found)
    found = [f for f in found if f.key not in already]
    existing = {row["key"]: row for row in locked if row["day"] == run.day}
    fresh = [_new(run, f, now) for f in found if f.key not in existing]
    for start in range(0, len(fresh), INSERT_ROWS):
        await insert_rows(conn, rt.reconciliation_breaks, fresh[start : start + INSERT_ROWS])
    for f in found:
        if f.key in existing:
            await _seen_again(conn, existing[f.key], f, run, now)
    keys = {f.key for f in found}
    for key, row in existing.items():
        if key in keys or row["status"] == Status.RESOLVED:
            continue
        if row["code"] in BY_STAFF_ONLY:  # left to staff, told that the newer file no longer has it
            state = _state(row)
            await _system_entry(conn, row, NOT_FOUND_AGAIN, state, state, now, not_found_again_note(run))
        else:
            await _change(conn, row, _resolved(Resolution.CLEARED, now), "break.cleared", now)
    return len(found)


def not_found_again_note(run: Run) -> str:
    return (
        f"Tệp công bố lại (lần chạy {run.id}) không còn dòng này. Chênh lệch loại này không được tự động giải quyết: "
        "nhân viên đối soát xác nhận và giải quyết."
    )


async def open_carried(conn: AsyncConnection, run: Run) -> dict[str, dict[str, Any]]:
    """Unresolved carried breaks of earlier days, by our record's id: what this run may settle."""
    rows = await _rows(conn, B.kind == run.kind, _carried_before(run), lock=True)
    return {row["our_id"]: row for row in rows}


def _carried_before(run: Run) -> Any:
    return and_(B.day < run.day, B.code.in_(sorted(CARRIED)), B.status != Status.RESOLVED.value)


async def settle_later(conn: AsyncConnection, rows: Iterable[dict[str, Any]], run: Run, now: datetime) -> int:
    """Resolve earlier days' breaks whose records this run's file settled."""
    count = 0
    for row in rows:
        values = {**_resolved(Resolution.SETTLED_LATER, now), "note": f"run {run.id} of {run.day.isoformat()}"}
        await _change(conn, row, values, "break.settled_later", now)
        count += 1
    return count
