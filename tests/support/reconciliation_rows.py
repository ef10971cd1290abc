"""Reconciliation runs, day totals and breaks written straight into their tables, for tests of the read side and
of the breaks' lifecycle that do not need a file to be reconciled."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.store.db import Database
from gateway.store.tables.reconciliation import reconciliation_breaks, reconciliation_runs, reconciliation_totals

DAY = date(2026, 11, 20)


async def add_run(
    db: Database,
    *,
    kind: str = "settlement",
    day: date = DAY,
    status: str = "completed",
    agencies: dict[str, dict[str, int]] | None = None,
    classes: dict[str, Any] | None = None,
    **columns: Any,
) -> str:
    """A run, with a totals row per agency (``agencies``: code → figures)."""
    run_id = new_id("rcn")
    at = now_utc()
    async with db.transaction() as tx:
        await tx.execute(
            reconciliation_runs.insert().values(
                id=run_id,
                kind=kind,
                day=day,
                status=status,
                trigger="manual",
                classes=classes or {},
                started_at=at,
                finished_at=at if status != "running" else None,
                **columns,
            )
        )
        for code, figures in (agencies or {}).items():
            await tx.execute(reconciliation_totals.insert().values(run_id=run_id, agency_code=code, day=day, **figures))
    return run_id


async def supersede(db: Database, old: str, new: str) -> None:
    async with db.transaction() as tx:
        c = reconciliation_runs.c
        await tx.execute(reconciliation_runs.update().where(c.id == old).values(superseded_by_id=new))
        await tx.execute(reconciliation_runs.update().where(c.id == new).values(supersedes_id=old))


async def add_break(
    db: Database,
    run_id: str,
    *,
    code: str = "status_mismatch",
    agency: str = "",
    day: date = DAY,
    kind: str = "settlement",
    identity: str | None = None,
    status: str = "open",
    **columns: Any,
) -> str:
    break_id = new_id("brk")
    at = now_utc()
    async with db.transaction() as tx:
        await tx.execute(
            reconciliation_breaks.insert().values(
                id=break_id,
                kind=kind,
                day=day,
                key=f"{code}:{identity or break_id}",
                code=code,
                agency_code=agency,
                run_id=run_id,
                first_run_id=run_id,
                facts=columns.pop("facts", {}),
                status=status,
                created_at=at,
                updated_at=at,
                **columns,
            )
        )
    return break_id


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]
