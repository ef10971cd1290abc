"""Collected sources the sweeper could not receipt yet, held with their reason and a back-off.

A source can be collected and still not receiptable: its agency has no signing key installed yet, or its stored
data is something a receipt cannot carry (data accepted before today's checks). The sweeper records each such
source here and skips it until its ``retry_at``, so it never holds back the newer sources behind it; the wait
doubles with every failed attempt, up to a ceiling. The row goes in the transaction that stores the receipt.
Operators see these rows with ``gateway receipts unissued``, the gauge ``gateway_receipts_unissued`` and the log
line ``receipt not issued``; ``gateway receipts retry`` asks for an attempt at the next sweep (after installing a key).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.logs import mask_id_number
from gateway.store import dialect
from gateway.store.db import Database
from gateway.store.tables import portals as ct
from gateway.store.tables.receipts import unissued_receipts

log = logging.getLogger("gateway.receipts")

U = unissued_receipts.c
MAX_REASON = 500


@dataclass(frozen=True)
class Unissued:
    """A source that could not be receipted, and why."""

    type: str
    id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    reason: str


def backoff(attempts: int, first: int, ceiling: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``first`` seconds, doubling, at most ``ceiling``."""
    return timedelta(seconds=min(first * 2 ** min(max(attempts, 1) - 1, 32), ceiling))


def not_held(source_type: str, id_column: Any, now: datetime) -> Any:
    """A clause: the source is not waiting out a back-off (never failed, or its retry time has come)."""
    waiting = select(U.source_id).where(U.source_type == source_type, U.source_id == id_column, U.retry_at > now)
    return ~waiting.exists()


async def hold(db: Database, failed: Sequence[Unissued], now: datetime, first: int, ceiling: int) -> None:
    """Record (or count again) each failed source with its reason and its next attempt."""
    if not failed:
        return
    async with db.transaction() as tx:
        known: dict[tuple[str, str], Row[Any]] = {}
        for source_type in {f.type for f in failed}:
            ids = [f.id for f in failed if f.type == source_type]
            query = select(unissued_receipts).where(U.source_type == source_type, U.source_id.in_(ids))
            known.update({(row.source_type, row.source_id): row for row in await tx.execute(query)})
        insert = dialect.inserter(tx)
        for f in failed:
            before = known.get((f.type, f.id))
            attempts = (before.attempts if before is not None else 0) + 1
            retry_at = now + backoff(attempts, first, ceiling)
            values = {
                "source_type": f.type,
                "source_id": f.id,
                "portal_id": f.portal_id,
                "agency_id": f.agency_id,
                "dossier_code": f.dossier_code,
                "reason": mask_id_number(f.reason)[:MAX_REASON],
                "attempts": attempts,
                "first_failed_at": before.first_failed_at if before is not None else now,
                "last_failed_at": now,
                "retry_at": retry_at,
            }
            statement = insert(unissued_receipts).values(**values)
            changed = {k: v for k, v in values.items() if k not in ("source_type", "source_id", "first_failed_at")}
            await tx.execute(statement.on_conflict_do_update(index_elements=[U.source_type, U.source_id], set_=changed))
            log.error(
                "receipt not issued",
                extra={
                    "source_type": f.type,
                    "source_id": f.id,
                    "reason": f.reason,
                    "attempts": attempts,
                    "retry_at": retry_at.isoformat(),
                },
            )


async def release(tx: AsyncConnection, source_type: str, source_ids: Sequence[str]) -> None:
    """Forget the sources that now have their receipt (in the transaction that stored it)."""
    if source_ids:
        await tx.execute(delete(unissued_receipts).where(U.source_type == source_type, U.source_id.in_(source_ids)))


async def listing(conn: AsyncConnection, limit: int = 1000) -> list[Row[Any]]:
    """The held sources, the longest-waiting first, with their agency's code."""
    query = (
        select(unissued_receipts, ct.agencies.c.code.label("agency_code"))
        .join(ct.agencies, ct.agencies.c.id == U.agency_id)
        .order_by(U.first_failed_at, U.source_type, U.source_id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def counts(conn: AsyncConnection) -> dict[str, int]:
    """How many sources of each kind are held."""
    rows = await conn.execute(select(U.source_type, func.count()).group_by(U.source_type))
    return {source_type: int(n) for source_type, n in rows}


async def retry_now(db: Database, now: datetime, agency_code: str | None = None) -> int:
    """Make the held sources (of one agency, or all) due at the next sweep; returns how many."""
    statement = update(unissued_receipts).values(retry_at=now)
    if agency_code is not None:
        agency = select(ct.agencies.c.id).where(ct.agencies.c.code == agency_code).scalar_subquery()
        statement = statement.where(U.agency_id == agency)
    async with db.transaction() as tx:
        result = await tx.execute(statement)
    return int(result.rowcount or 0)
