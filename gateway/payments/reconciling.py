"""What reconciliation reads of the payments area: the payments and refunds of a time window, in column batches.

On PostgreSQL the rows stream out of the server as CSV (``COPY (SELECT …) TO STDOUT``) and are parsed by Polars in
chunks of ``COPY_CHUNK_BYTES``, so not one row becomes a Python object; on SQLite they come through a cursor,
``batch_rows`` at a time. Either way they leave as columns (name → values), never a million rows at once. Agency ids
become the codes the hub writes, through the portals catalogue.

A record belongs to the window when its money moved in it (a payment's ``paid_at``, a refund's ``completed_at``),
or, for one whose money has not moved, when it was opened in it: the hub may have settled what we never heard of.

``collected_by_reference``: the payments of some references whose money we received (and when), for a hub row that
no record of the window explains.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Select, and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import VN_TZ, to_vn
from gateway import portals
from gateway.store.db import Database
from gateway.store.tables import payments as pt

P = pt.payments.c
R = pt.refunds.c
BATCH_ROWS = 50_000
COPY_CHUNK_BYTES = 8 << 20
# What each batch holds, as lists of equal length: ``kind`` is payment or refund, ``reference`` the payment's
# MaThamChieu (a refund's, its payment's), ``day`` the Vietnam day its money moved (the day it was made, if its money
# has not moved), ``agency`` the agency's code, ``refund_reference`` a refund's MaYeuCauHoan.
RECORD_COLUMNS = (
    "id",
    "kind",
    "reference",
    "amount",
    "status",
    "day",
    "agency",
    "transaction_id",
    "refund_reference",
)


@dataclass(frozen=True, slots=True)
class CollectedPayment:
    """A payment whose money we received: what reconciliation asks of a reference the hub settled again."""

    id: str
    reference: str
    agency_code: str
    amount: int
    status: str
    paid_at: datetime


COLLECTED = ("paid", "partially_refunded", "refunded")  # the payment's money was received
REFERENCES_PER_QUERY = 500


async def collected_by_reference(conn: AsyncConnection, references: Iterable[str]) -> dict[str, CollectedPayment]:
    """The payments of these references whose money we received, by reference (others are left out)."""
    wanted = sorted(set(references))
    codes = await portals.agency_codes(conn) if wanted else {}
    found: dict[str, CollectedPayment] = {}
    for start in range(0, len(wanted), REFERENCES_PER_QUERY):
        query = select(P.id, P.reference, P.agency_id, P.amount, P.status, P.paid_at).where(
            P.reference.in_(wanted[start : start + REFERENCES_PER_QUERY]),
            P.status.in_(COLLECTED),
            P.paid_at.is_not(None),
        )
        for row in await conn.execute(query):
            found[row.reference] = CollectedPayment(
                row.id, row.reference, codes.get(row.agency_id, ""), row.amount, row.status, row.paid_at
            )
    return found


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


def _vn_day(moved: datetime | None, opened: datetime) -> date:
    return to_vn(opened if moved is None else moved).date()


def _payment_batch(rows: list[Any], codes: dict[str, str]) -> dict[str, list[Any]]:
    ids, references, amounts, statuses, paid, created, agencies, transactions = map(list, zip(*rows, strict=True))
    return {
        "id": ids,
        "kind": ["payment"] * len(ids),
        "reference": references,
        "amount": amounts,
        "status": statuses,
        "day": list(map(_vn_day, paid, created)),
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
        "day": list(map(_vn_day, completed, created)),
        "agency": [codes.get(agency, "") for agency in agencies],
        "transaction_id": [""] * len(ids),
        "refund_reference": refund_refs,
    }


async def records_between(
    db: Database, since: datetime, until: datetime, batch_rows: int = BATCH_ROWS, timeout_seconds: float = 3600
) -> AsyncIterator[dict[str, Any]]:
    """The window's payments, then its refunds, as batches of ``RECORD_COLUMNS``; one consistent snapshot.

    ``timeout_seconds`` bounds each COPY on PostgreSQL instead of the store's per-statement limit, which one COPY of
    a big window outlasts."""
    async with db.read() as conn:
        codes = await portals.agency_codes(conn)
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}"))
            async with aclosing(_copied(conn, since, until, timeout_seconds)) as frames:
                async for frame in frames:
                    yield _coded(frame, codes)
            return
        for query, shape in ((_payments(since, until), _payment_batch), (_refunds(since, until), _refund_batch)):
            result = await conn.stream(query.execution_options(yield_per=batch_rows))
            async for rows in result.partitions(batch_rows):
                if rows:
                    yield shape(rows, codes)


# ---------------------------------------------------------------- PostgreSQL: COPY to CSV, parsed by Polars

# A record's Vietnam day leaves as days since 1970-01-01, whatever the server's time zone and date style: one small
# integer, where its times as text or as epoch microseconds cost the server more than the rest of the row.
_COPY_PAYMENTS = """
SELECT id, 'payment', reference, amount, status,
       (coalesce(paid_at, created_at) AT TIME ZONE $3)::date - DATE '1970-01-01',
       agency_id, coalesce(hub_transaction_id, ''), ''
FROM payments
WHERE (paid_at >= $1 AND paid_at < $2) OR (paid_at IS NULL AND created_at >= $1 AND created_at < $2)
"""
_COPY_REFUNDS = """
SELECT r.id, 'refund', p.reference, r.amount, r.status,
       (coalesce(r.completed_at, r.created_at) AT TIME ZONE $3)::date - DATE '1970-01-01',
       p.agency_id, '', r.reference
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE (r.completed_at >= $1 AND r.completed_at < $2)
   OR (r.completed_at IS NULL AND r.created_at >= $1 AND r.created_at < $2)
"""
_CSV_SCHEMA = {name: pl.String for name in RECORD_COLUMNS} | {
    "amount": pl.Int64,
    "day": pl.Int32,
}


def _coded(frame: pl.DataFrame, codes: dict[str, str]) -> dict[str, Any]:
    """A parsed chunk as columns: days as dates, agency ids as codes, no null text."""
    text = [name for name, kind in _CSV_SCHEMA.items() if kind == pl.String and name != "agency"]
    frame = frame.with_columns(
        pl.col(text).fill_null(""),
        pl.col("day").cast(pl.Date),
        pl.col("agency").replace_strict(codes, default="", return_dtype=pl.String),
    )
    return frame.to_dict(as_series=True)


def _parsed(chunk: bytes) -> pl.DataFrame:
    return pl.read_csv(chunk, has_header=False, new_columns=list(RECORD_COLUMNS), schema=_CSV_SCHEMA)


async def _copied(
    conn: AsyncConnection, since: datetime, until: datetime, limit_seconds: float
) -> AsyncIterator[pl.DataFrame]:
    """Both queries' rows as CSV from the server, in chunks cut at a line's end, each parsed as one frame."""
    raw = (await conn.get_raw_connection()).driver_connection
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=2)
    pending = bytearray()

    async def take(data: bytes) -> None:
        pending.extend(data)
        if len(pending) >= COPY_CHUNK_BYTES:
            cut = pending.rindex(b"\n") + 1
            await chunks.put(bytes(pending[:cut]))
            del pending[:cut]

    async def copy() -> None:
        try:
            for query in (_COPY_PAYMENTS, _COPY_REFUNDS):
                await raw.copy_from_query(
                    query, since, until, VN_TZ.key, output=take, format="csv", timeout=limit_seconds
                )
            if pending:
                await chunks.put(bytes(pending))
        except BaseException:
            # failed or cut off: what is queued no longer matters; the end mark goes in without waiting, since no
            # reader may be left to make room (a reader still waiting wakes, and finds the error in the task)
            while not chunks.empty():
                chunks.get_nowait()
            chunks.put_nowait(None)
            raise
        await chunks.put(None)

    task = asyncio.create_task(copy())
    try:
        while (chunk := await chunks.get()) is not None:
            # parsed in a thread, so the loop goes on taking the server's rows meanwhile
            yield await asyncio.to_thread(_parsed, chunk)
        await task
    finally:
        if not task.done():  # stopped midway (cancelled, or the reader failed): the COPY is cut off
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            # a COPY cut off leaves its connection mid-protocol; it is closed, never given out again
            await conn.invalidate()
