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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.collected import Unreceiptable
from gateway.logs import mask_id_number
from gateway.store.db import Database

from . import repository
from .repository import not_held, release

__all__ = ["Unissued", "backoff", "counts", "hold", "listing", "not_held", "release", "retry_now"]

log = logging.getLogger("gateway.receipts")

MAX_REASON = 500

Unissued = Unreceiptable  # a source that could not be receipted, and why


def backoff(attempts: int, first: int, ceiling: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``first`` seconds, doubling, at most ``ceiling``."""
    return timedelta(seconds=min(first * 2 ** min(max(attempts, 1) - 1, 32), ceiling))


async def hold(db: Database, failed: Sequence[Unissued], now: datetime, first: int, ceiling: int) -> None:
    """Record (or count again) each failed source with its reason and its next attempt."""
    if not failed:
        return
    async with db.transaction() as tx:
        known: dict[tuple[str, str], Row[Any]] = {}
        for source_type in {f.type for f in failed}:
            known.update(await repository.holds(tx, source_type, [f.id for f in failed if f.type == source_type]))
        for f in failed:
            before = known.get((f.type, f.id))
            attempts = (before.attempts if before is not None else 0) + 1
            retry_at = now + backoff(attempts, first, ceiling)
            await repository.put_hold(
                tx,
                {
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
                },
            )
            extra = {"source_type": f.type, "source_id": f.id, "reason": f.reason, "attempts": attempts}
            log.error("receipt not issued", extra={**extra, "retry_at": retry_at.isoformat()})


async def listing(conn: AsyncConnection, limit: int = 1000) -> list[Row[Any]]:
    """The held sources, the longest-waiting first, with their agency's code."""
    return await repository.held(conn, limit)


async def counts(conn: AsyncConnection) -> dict[str, int]:
    """How many sources of each kind are held."""
    return await repository.held_counts(conn)


async def retry_now(db: Database, now: datetime, agency_code: str | None = None) -> int:
    """Make the held sources (of one agency, or all) due at the next sweep; returns how many."""
    async with db.transaction() as tx:
        return await repository.retry_held(tx, now, agency_code)
