"""Asking the worker for a receipt as soon as money is collected.

The job is keyed by its source (``_job_id``), so a payment announced twice while its job waits is queued once.
Enqueuing happens after the payment's transaction committed and may fail (Redis down, a crash in between): the
worker's sweeper finds collected sources without a receipt and issues them anyway, so this is only the fast path.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from sqlalchemy import select

from gateway.store import tables as t
from gateway.store.db import Database, DatabaseUnavailable

from .sources import PAYMENT

log = logging.getLogger("gateway.receipts")

ISSUE_JOB = "issue_receipt"


def job_id(source_type: str, source_id: str) -> str:
    return f"receipt:{source_type}:{source_id}"


async def request_receipt(redis: ArqRedis | None, source_type: str, source_id: str) -> None:
    """Queue the receipt of a source that was just collected; never raises (the sweeper is the safety net)."""
    if redis is None:
        return
    try:
        await redis.enqueue_job(ISSUE_JOB, source_type, source_id, _job_id=job_id(source_type, source_id))
    except Exception as error:
        log.warning(
            "receipt job not queued; the sweeper will issue it", extra={"source_id": source_id, "error": str(error)}
        )


async def payment_collected(redis: ArqRedis | None, db: Database, reference: str) -> None:
    """Queue the receipt of the payment with hub ``reference``, which has just become paid; never raises."""
    if redis is None:
        return
    try:
        async with db.read() as conn:
            payment_id = (
                await conn.execute(select(t.payments.c.id).where(t.payments.c.reference == reference))
            ).scalar_one_or_none()
    except DatabaseUnavailable as error:
        log.warning("receipt job not queued; the sweeper will issue it", extra={"error": str(error)})
        return
    if payment_id is not None:
        await request_receipt(redis, PAYMENT, payment_id)
