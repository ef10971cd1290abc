"""The audit trail is written once: the database itself refuses to change, remove or empty its entries, on
SQLite and PostgreSQL, whatever code runs against it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from adapters.vntime import now_utc
from gateway.staff import audit
from gateway.store.db import Database
from gateway.store.tables.staff import staff_audit

A = staff_audit.c


async def _entry(db: Database) -> None:
    async with db.unit() as uow:
        await audit.record(
            uow.conn, at=now_utc(), actor="lan", action="break.resolved", subject_type="break", subject_id="brk_1",
            before={"status": "open"}, after={"status": "resolved"}, note="đã đối chiếu",
        )  # fmt: skip


async def test_an_entry_cannot_be_changed_removed_or_emptied(db: Database) -> None:
    await _entry(db)
    attempts = [
        staff_audit.update().values(note="sửa lại"),
        staff_audit.update().where(A.subject_id == "brk_1").values(actor="someone-else"),
        staff_audit.delete(),
    ]
    if not db.is_sqlite:
        attempts.append(sa.text("TRUNCATE staff_audit"))
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as tx:
                await tx.execute(statement)
    async with db.read() as conn:
        entries = await audit.history(conn, "break", "brk_1")
    assert [(e.actor, e.note, e.after) for e in entries] == [("lan", "đã đối chiếu", {"status": "resolved"})]
