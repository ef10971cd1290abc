"""Changing a break: assign, unassign, resolve by hand (with a note), reopen, and the system's own resolutions.

Every change is one transaction: the break is read under a row lock within the caller's scope (a break outside it
is not found), its ``version`` must be the one the caller read (a stale form gets ``break_changed``), the pure
lifecycle decides the new state, and the row and one audit entry (before and after) are written together. A break
is assigned only to an enabled staff account that may work breaks of one of its agencies (the line's or our
record's: ``staff.break_assignee``, read in the same transaction): any other name is refused with
``unknown_assignee``, whatever the reason (no such account, disabled, a viewer, of other agencies), so the answer
tells nothing of which accounts exist. A reopened break gets its assignee back only while that account may still
work it (``findings.recheck_assignee``). Whether the caller's role may change breaks at all is the caller's check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.store import dialect
from gateway.store.db import Database
from gateway.store.tables.reconciliation import reconciliation_breaks

from . import findings, lifecycle
from .figures import visible
from .lifecycle import State
from .queries import find_break
from .views import BreakView

B = reconciliation_breaks.c
Step = Callable[[State], State]


@dataclass(frozen=True)
class Staffer:
    """Who changes a break: a staff account's username, the agencies it sees, and where it signed in from."""

    username: str
    scope: AgencyScope
    client_ip: str = ""


async def assign(db: Database, who: Staffer, break_id: str, version: int, to: str) -> BreakView:
    """Assign the break to the staff account ``to`` names, if it may work breaks of one of the break's agencies."""
    async with db.transaction() as conn:
        row = await _current(conn, who, break_id, version)
        lifecycle.assigned(state_of(row), to)  # a resolved break or a malformed name is refused before the look-up
        username = await staff.break_assignee(conn, to.strip(), (row.agency_code, row.our_agency_code))
        if username is None:
            raise Refused("unknown_assignee", field="assigned_to")
        step: Step = lambda s: lifecycle.assigned(s, username)  # noqa: E731
        return await _changed(conn, who, row, "break.assigned", step)


async def unassign(db: Database, who: Staffer, break_id: str, version: int) -> BreakView:
    return await _by_hand(db, who, break_id, version, "break.unassigned", lifecycle.unassigned)


async def resolve(db: Database, who: Staffer, break_id: str, version: int, note: str | None) -> BreakView:
    text = lifecycle.note_of(note, required=True)
    step: Step = lambda s: lifecycle.resolved(s, lifecycle.MANUAL, text)  # noqa: E731
    return await _by_hand(db, who, break_id, version, "break.resolved", step, text)


async def reopen(db: Database, who: Staffer, break_id: str, version: int, note: str | None = None) -> BreakView:
    """Reopen a resolved break: back to its assignee, if that account may still work it (``findings.recheck_assignee``,
    in the same transaction), else open and assigned to no one."""
    text = lifecycle.note_of(note, required=False)
    async with db.transaction() as conn:
        row = await _current(conn, who, break_id, version)
        at = now_utc()
        await change(
            conn,
            row,
            lifecycle.reopened,
            actor=who.username,
            action="break.reopened",
            at=at,
            note=text,
            ip=who.client_ip,
        )
        await findings.recheck_assignee(conn, (await locked(conn, who.scope, break_id))._asdict(), at)
        return await find_break(conn, who.scope, break_id)


async def _by_hand(
    db: Database, who: Staffer, break_id: str, version: int, action: str, step: Step, note: str = ""
) -> BreakView:
    async with db.transaction() as conn:
        row = await _current(conn, who, break_id, version)
        return await _changed(conn, who, row, action, step, note)


async def _current(conn: AsyncConnection, who: Staffer, break_id: str, version: int) -> Any:
    """The break's row, locked, if it is in the caller's scope and still at the version the caller read."""
    row = await locked(conn, who.scope, break_id)
    if row.version != version:
        raise Refused("break_changed", extra={"current_version": row.version})
    return row


async def _changed(conn: AsyncConnection, who: Staffer, row: Any, action: str, step: Step, note: str = "") -> BreakView:
    await change(conn, row, step, actor=who.username, action=action, at=now_utc(), note=note, ip=who.client_ip)
    return await find_break(conn, who.scope, row.id)


async def locked(conn: AsyncConnection, scope: AgencyScope, break_id: str) -> Any:
    """The break's row, locked until the transaction ends; not found outside the scope (``figures.visible``: staff of
    the agency the line names and of the agency of our record both work the break)."""
    query = sa.select(reconciliation_breaks).where(B.id == break_id, visible(scope, B))
    row = (await conn.execute(dialect.locked(conn, query))).one_or_none()
    if row is None:
        raise Refused("not_found")
    return row


def state_of(row: Any) -> State:
    return State(status=row.status, assigned_to=row.assigned_to, resolution=row.resolution, note=row.note)


def _columns(before: State, after: State, actor: str, at: datetime, row: Any) -> dict[str, Any]:
    resolved = after.status == lifecycle.RESOLVED
    kept = row.assigned_at if after.assigned_to == before.assigned_to else at
    return {
        "status": after.status,
        "assigned_to": after.assigned_to,
        "assigned_at": kept if after.assigned_to else None,
        "resolution": after.resolution,
        "resolved_by": actor if resolved else "",
        "resolved_at": at if resolved else None,
        "note": after.note,
    }


async def change(
    conn: AsyncConnection, row: Any, step: Step, *, actor: str, action: str, at: datetime, note: str = "", ip: str = ""
) -> State:
    """The one way a locked break changes: the lifecycle's step, the row (its version moved on) and one audit
    entry, in the caller's transaction."""
    before = state_of(row)
    after = step(before)
    done = await conn.execute(
        sa.update(reconciliation_breaks)
        .where(B.id == row.id, B.version == row.version)
        .values(**_columns(before, after, actor, at, row), version=row.version + 1, updated_at=at)
    )
    if done.rowcount != 1:
        raise Refused("break_changed")
    await staff.record(
        conn,
        at=at,
        actor=actor,
        action=action,
        subject_type="break",
        subject_id=row.id,
        agency_code=row.agency_code,
        before=msgspec.to_builtins(before),
        after=msgspec.to_builtins(after),
        note=note,
        client_ip=ip,
    )
    return after


async def resolve_as_system(conn: AsyncConnection, break_id: str, resolution: str, note: str, at: datetime) -> bool:
    """The worker resolves a break on its own (``hub_query``, ``settled_later``, ``cleared``), actor ``system``;
    False when the break is already resolved (someone was first), or is one only staff resolve
    (``findings.BY_STAFF_ONLY``)."""
    row = await locked(conn, AgencyScope.everything(), break_id)
    if row.status == lifecycle.RESOLVED or row.code in findings.BY_STAFF_ONLY:
        return False
    text = lifecycle.note_of(note, required=False)
    step: Step = lambda s: lifecycle.resolved(s, resolution, text)  # noqa: E731
    await change(conn, row, step, actor=staff.SYSTEM, action="break.resolved", at=at, note=text)
    return True
