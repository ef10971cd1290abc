"""Receipt series and numbers: from 1 each Vietnam calendar year per (agency tax code, template, series),
without gaps or repeats.

A number is taken on the series row inside the transaction that stores the receipt, so a transaction that rolls
back (a crash, a lost race for the same source) gives its number back with it and the series stays gap-free;
the unique number per series in ``receipts`` forbids a repeat whatever happens.

Issuing takes numbers in two steps so that the series row is locked only while the signed receipts are stored,
never while they are built and signed: the issuer reads the series' last number (``last_taken``, no lock), signs
its receipts with the numbers after it, then in the storing transaction ``take_after`` takes those numbers only if
nobody took any since (a conditional update that locks the row until commit). If somebody did, nothing is taken
and the issuer signs again with the numbers now free. Corrections, which are rare, take their number at once with
``allocate`` in the transaction that signs and stores the replacement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
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


def check_room(tax_code: str, template: str, series: str, last: int) -> None:
    if last > MAX_NUMBER:
        raise SeriesExhausted(f"series {template} {series} of {tax_code} has no number left after {MAX_NUMBER}")


async def allocate(tx: AsyncConnection, tax_code: str, template: str, series: str, count: int = 1) -> int:
    """Take the next ``count`` numbers of the series in ``tx``; returns the first (they run consecutively)."""
    if count < 1:
        raise ValueError("allocate at least one number")
    last = await repository.allocate_numbers(tx, tax_code, template, series, count)
    check_room(tax_code, template, series, last)
    return last - count + 1


async def last_taken(conn: AsyncConnection, tax_code: str, template: str, series: str) -> int:
    """The series' last number taken by a committed transaction (0 before the first), read without a lock."""
    return await repository.last_number(conn, tax_code, template, series)


async def take_after(tx: AsyncConnection, tax_code: str, template: str, series: str, last: int, count: int) -> bool:
    """Take the ``count`` numbers after ``last`` in ``tx`` if ``last`` is still the series' last number; ``False``
    (nothing taken) if another transaction took numbers since. Raises SeriesExhausted past the 7-digit limit."""
    if count < 1:
        raise ValueError("take at least one number")
    check_room(tax_code, template, series, last + count)
    return await repository.take_numbers_after(tx, tax_code, template, series, last, count)


SeriesKey = tuple[str, str, str]  # (tax code, template, series)
Reading = Callable[[], AbstractAsyncContextManager[AsyncConnection]]  # ``Database.read``


class SeriesTurns:
    """This process's issuers of one series take turns (other processes are met by ``take_after``), and the last
    number this process saw taken is remembered, so the next batch need not read it."""

    def __init__(self) -> None:
        self._locks: dict[SeriesKey, asyncio.Lock] = {}
        self._last: dict[SeriesKey, int] = {}

    def turn(self, key: SeriesKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def last(self, reading: Reading, key: SeriesKey) -> int:
        """The series' last number as last seen here, or read (outside any lock) when not known."""
        if key not in self._last:
            async with reading() as conn:
                self._last[key] = await last_taken(conn, *key)
        return self._last[key]

    def taken(self, key: SeriesKey, last: int) -> None:
        self._last[key] = last

    def forget(self, key: SeriesKey) -> None:
        """Another issuer took numbers (or the outcome is unknown): read the series again next time."""
        self._last.pop(key, None)
