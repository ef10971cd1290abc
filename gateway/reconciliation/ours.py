"""Our side of a day's run, read through the payments and shipments areas' public surfaces.

A day's run takes the records whose money moved since the previous run's day (the run's own) and the records the
previous run left waiting (not settled by any file yet), so a late file still finds them and a record settled once
is never waited for again. With no previous run, the run's own records are those of its day. Records whose money
did not move are taken for the last ``open_days`` (a payment stays open at most that long): the hub may have
settled one we never heard of.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import polars as pl

from adapters.vntime import VN_TZ
from gateway import payments, shipments
from gateway.settings import Settings
from gateway.store.db import Database
from reconciliation.engine import MONEY_MOVED, OurCollection, RecordSpool

from . import runs

MOVED = [status.value for status in MONEY_MOVED]


@dataclass(frozen=True)
class Carry:
    """What a day's run reads: records that moved after ``after_day``, and the ``waiting`` ids of earlier days."""

    day: date
    after_day: date
    waiting: frozenset[str]
    first_day: date  # the earliest day anything is read from

    def window(self) -> tuple[datetime, datetime]:
        """The window in UTC-aware datetimes: from the first day's midnight to the day after the run's day."""
        return vn_midnight(self.first_day), vn_midnight(self.day + timedelta(days=1))


def vn_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ)


async def carry_for(db: Database, kind: str, day: date, settings: Settings, open_days: int = 0) -> Carry:
    lookback = day - timedelta(days=settings.reconciliation_lookback_days)
    async with db.read() as conn:
        before = await runs.previous(conn, kind, day, lookback)
        waiting = [] if before is None else await runs.waiting_of(conn, before.id)
    after_day = day - timedelta(days=1) if before is None else before.day
    first = min([after_day + timedelta(days=1), day - timedelta(days=open_days), *(d for _, d, _ in waiting)])
    return Carry(day, after_day, frozenset(our_id for our_id, _, _ in waiting), max(first, lookback))


def open_days(settings: Settings) -> int:
    return math.ceil(settings.max_payment_ttl_seconds / 86400)


def _records(batch: dict[str, list[object]], carry: Carry) -> pl.DataFrame:
    """A batch of ``payments.RECORD_COLUMNS`` as the engine's records, keeping what the run takes."""
    frame = pl.DataFrame(batch, strict=False).with_columns(pl.col("day").cast(pl.Date), pl.col("amount").cast(pl.Int64))
    moved = pl.col("status").is_in(MOVED)
    own = pl.col("day") > carry.after_day
    kept = ~moved | own | pl.col("id").is_in(list(carry.waiting))
    return frame.filter(kept)


def _spool(spool: RecordSpool, batch: dict[str, list[object]], carry: Carry) -> None:
    frame = _records(batch, carry)
    if frame.height:
        spool.add_columns(frame.to_dict(as_series=True))


async def spool_settlement_records(
    db: Database, spool: RecordSpool, carry: Carry, timeout_seconds: float = 3600
) -> int:
    """Our payments and refunds for the run, spooled to Parquet batch by batch; how many."""
    since, until = carry.window()
    # closed however the loop ends, so a cancelled run gives its connection back at once
    async with aclosing(payments.records_between(db, since, until, timeout_seconds=timeout_seconds)) as batches:
        async for batch in batches:
            await asyncio.to_thread(_spool, spool, batch, carry)  # off the loop, which goes on reading meanwhile
    spool.flush()
    return spool.rows


async def cod_collections(db: Database, carry: Carry) -> list[OurCollection]:
    """Our COD collections for the run: the day's own and those the previous run left unremitted."""
    since, until = carry.window()
    found = []
    for collected in await shipments.cod_collected_between(db, since, until):
        day = collected.collected_at.astimezone(VN_TZ).date()
        if day > carry.after_day or collected.shipment_id in carry.waiting:
            found.append(
                OurCollection(
                    shipment_id=collected.shipment_id,
                    item_code=collected.item_code,
                    amount=collected.amount,
                    day=day,
                    agency=collected.agency,
                )
            )
    return found
