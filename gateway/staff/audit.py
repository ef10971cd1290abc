"""The append-only audit trail of staff actions: who did what, when, to which subject, before and after.

Every area that changes something on a staff member's word writes its entry here, in the change's own transaction,
so the trail and the change commit or roll back together. The database refuses to update or delete an entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables.staff import staff_audit

SYSTEM = "system"  # the actor of what the worker does on its own (automatic resolution, superseding runs)


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    agency_code: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str
    client_ip: str


def _plain(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe: dates and times as ISO text."""
    return None if state is None else msgspec.to_builtins(state)


async def record(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str = "",
    subject_id: str = "",
    agency_code: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    client_ip: str = "",
) -> None:
    await conn.execute(
        staff_audit.insert().values(
            at=at,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            agency_code=agency_code,
            before=_plain(before),
            after=_plain(after),
            note=note,
            client_ip=client_ip,
        )
    )


async def history(conn: AsyncConnection, subject_type: str, subject_id: str) -> list[AuditEntry]:
    """A subject's entries, oldest first."""
    a = staff_audit.c
    rows = await conn.execute(
        sa.select(staff_audit).where(a.subject_type == subject_type, a.subject_id == subject_id).order_by(a.id)
    )
    return [AuditEntry(**row._mapping) for row in rows]
