"""Receipt series and numbers: from 1 each Vietnam calendar year per (agency tax code, template, series),
without gaps or repeats.

A number is taken by an upsert on the series row inside the transaction that stores the receipt. The row lock
(PostgreSQL) or the database write lock (SQLite, ``BEGIN IMMEDIATE``) serialises concurrent issuers until
commit, and a transaction that rolls back (a crash, a failed signature, a lost race for the same source) rolls
its number back with it: the next receipt takes the same number, so the series stays gap-free.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import to_vn
from receipts.codes import MAX_NUMBER

from . import repository


class SeriesExhausted(RuntimeError):
    """The series has no 7-digit number left this year; nothing was allocated."""


def series_for(moment: datetime) -> str:
    """KHBLai: the last two digits of the Vietnam year of ``moment`` and ``T`` (``26T``)."""
    return f"{to_vn(moment).year % 100:02d}T"


async def allocate(tx: AsyncConnection, tax_code: str, template: str, series: str, count: int = 1) -> int:
    """Take the next ``count`` numbers of the series in ``tx``; returns the first (they run consecutively)."""
    if count < 1:
        raise ValueError("allocate at least one number")
    last = await repository.allocate_numbers(tx, tax_code, template, series, count)
    if last > MAX_NUMBER:
        raise SeriesExhausted(f"series {template} {series} of {tax_code} has no number left after {MAX_NUMBER}")
    return last - count + 1
