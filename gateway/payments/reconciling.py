"""What reconciliation reads of the payments area: the payments and refunds of a time window, in column batches.

The rows come through a server-side cursor, ``batch_rows`` at a time, and leave as columns (name → values), so a
day of a million payments is never a million Python objects at once. Agency ids become the codes the hub writes,
through the portals catalogue.

A record belongs to the window when its money moved in it (a payment's ``paid_at``, a refund's ``completed_at``),
or, for one whose money has not moved, when it was opened in it: the hub may have settled what we never heard of.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from gateway import portals
from gateway.store.db import Database
from gateway.store.tables import payments as pt

P = pt.payments.c
R = pt.refunds.c
BATCH_ROWS = 50_000
# What each batch holds, as lists of equal length: ``kind`` is payment or refund, ``reference`` the payment's
# MaThamChieu (a refund's, its payment's), ``moved_at`` when the money moved (None if it has not), ``opened_at``
# when the record was made, ``agency`` the agency's code, ``refund_reference`` a refund's MaYeuCauHoan.
RECORD_COLUMNS = (
    "id",
    "kind",
    "reference",
    "amount",
    "status",
    "moved_at",
    "opened_at",
    "agency",
    "transaction_id",
    "refund_reference",
)


def _payments(since: datetime, until: datetime) -> Select[Any]:
    moved = and_(P.paid_at >= since, P.paid_at < until)
    opened = and_(P.paid_at.is_(None), P.created_at >= since, P.created_at < until)
    return select(
        P.id, P.reference, P.amount, P.status, P.paid_at, P.created_at, P.agency_id, P.hub_transaction_id
    ).where(or_(moved, opened))


def _refunds(since: datetime, until: datetime) -> Select[Any]:
    moved = and_(R.completed_at >= since, R.completed_at < until)
    opened = and_(R.completed_at.is_(None), R.created_at >= since, R.created_at < until)
    return (
        select(R.id, P.reference, R.amount, R.status, R.completed_at, R.created_at, P.agency_id, R.reference)
        .join(pt.payments, P.id == R.payment_id)
        .where(or_(moved, opened))
    )


def _payment_batch(rows: list[Any], codes: dict[str, str]) -> dict[str, list[Any]]:
    ids, references, amounts, statuses, paid, created, agencies, transactions = map(list, zip(*rows, strict=True))
    return {
        "id": ids,
        "kind": ["payment"] * len(ids),
        "reference": references,
        "amount": amounts,
        "status": statuses,
        "moved_at": paid,
        "opened_at": created,
        "agency": [codes.get(agency, "") for agency in agencies],
        "transaction_id": [transaction or "" for transaction in transactions],
        "refund_reference": [""] * len(ids),
    }


def _refund_batch(rows: list[Any], codes: dict[str, str]) -> dict[str, list[Any]]:
    ids, references, amounts, statuses, completed, created, agencies, refund_refs = map(list, zip(*rows, strict=True))
    return {
        "id": ids,
        "kind": ["refund"] * len(ids),
        "reference": references,
        "amount": amounts,
        "status": statuses,
        "moved_at": completed,
        "opened_at": created,
        "agency": [codes.get(agency, "") for agency in agencies],
        "transaction_id": [""] * len(ids),
        "refund_reference": refund_refs,
    }


async def records_between(
    db: Database, since: datetime, until: datetime, batch_rows: int = BATCH_ROWS
) -> AsyncIterator[dict[str, list[Any]]]:
    """The window's payments, then its refunds, as batches of ``RECORD_COLUMNS``; one consistent snapshot."""
    async with db.read() as conn:
        codes = await portals.agency_codes(conn)
        for query, shape in ((_payments(since, until), _payment_batch), (_refunds(since, until), _refund_batch)):
            result = await conn.stream(query.execution_options(yield_per=batch_rows))
            async for rows in result.partitions(batch_rows):
                if rows:
                    yield shape(rows, codes)
