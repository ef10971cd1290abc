"""The connections of checked units on PostgreSQL, held out of their engine's pool between units.

A checked unit runs in autocommit and leaves nothing on its connection (no transaction, no lock, no setting), so
the next unit can take the connection as it is. Taking one from SQLAlchemy's pool and giving it back costs three
greenlet switches and the pool's events (about 80 µs, a tenth of a hub callback's CPU); taking one from here costs
a list's pop. The connections come from an engine of their own, in autocommit and marked as checked units' (a
write sent at once is refused on them, ``direct.refuse_at_once``), so the other units' pool is never short of what
this one holds.

What the pool does for its connections is done here for the held ones:

- at most ``size`` are out at once; a unit waits for one at most ``wait`` seconds, then the database is busy
  (SQLAlchemy's pool timeout, answered as unavailable as the pool's own is);
- one the server closed is replaced without a round trip;
- one idle for longer than ``idle_ping`` seconds is pinged before use; when the ping fails it and every connection
  held idle are dropped (the database restarted, or the network dropped them all) and a new one is checked out;
- one a unit left in doubt (an error other than the unit's own refusal or lost change, a cancellation) goes back to
  the engine's pool, whose check-in resets or discards it; one a statement found lost goes with every connection
  held idle, as SQLAlchemy replaces the connections pooled before a lost one.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gateway.store")


class HeldConnections:
    def __init__(self, engine: AsyncEngine, *, size: int, wait: float, idle_ping: float) -> None:
        self.engine = engine
        self.wait = wait
        self.idle_ping = idle_ping
        self._free = asyncio.Semaphore(size)
        self._idle: list[tuple[AsyncConnection, float]] = []  # the most recently used last

    async def take(self) -> AsyncConnection:
        """A connection for one checked unit; ``give`` it back whatever happens."""
        if self._free.locked():
            try:
                async with asyncio.timeout(self.wait):
                    await self._free.acquire()
            except TimeoutError as error:
                raise sa_exc.TimeoutError("no connection for a checked unit came free in time") from error
        else:
            await self._free.acquire()  # free now: returns at once
        try:
            return await self._ready()
        except BaseException:
            self._free.release()
            raise

    async def give(self, conn: AsyncConnection, *, keep: bool) -> None:
        """Take back ``conn`` from its unit: held for the next when ``keep`` and still sound, else returned to the
        engine's pool."""
        try:
            if keep and not conn.invalidated and not _closed(conn):
                if conn.in_transaction():  # SQLAlchemy's own bookkeeping of a statement it ran: nothing on the server
                    await conn.rollback()
                self._idle.append((conn, time.monotonic()))
                return
            if conn.invalidated:  # lost: those held idle were opened before it, and are replaced as the pool's are
                dropped, self._idle = self._idle, []
                for old, _ in dropped:
                    await _returned(old, broken=True)
            await _returned(conn)
        finally:
            self._free.release()

    async def close(self) -> None:
        """Return every held connection to the engine's pool (before the engine is disposed)."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await _returned(conn)

    async def _ready(self) -> AsyncConnection:
        while self._idle:
            conn, since = self._idle.pop()
            if _closed(conn):
                await _returned(conn)
                continue
            if time.monotonic() - since <= self.idle_ping:
                return conn
            try:
                await conn.exec_driver_sql("SELECT 1")
            except Exception:  # any failure: the connections held before it are no better
                dropped, self._idle = [conn, *(old for old, _ in self._idle)], []
                for old in dropped:
                    await _returned(old, broken=True)
                break
            return conn
        return await self.engine.connect()


def _closed(conn: AsyncConnection) -> bool:
    """Whether the server closed ``conn`` (known to the driver without a round trip)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return True
    return bool(sync.connection.driver_connection.is_closed())


async def _returned(conn: AsyncConnection, *, broken: bool = False) -> None:
    """``conn`` back to its engine's pool: a sound one is reset there, a ``broken`` or closed one discarded."""
    try:
        if not conn.invalidated and (broken or _closed(conn)):
            await conn.invalidate()
        await asyncio.shield(conn.close())
    except Exception as error:  # the pool discards what it cannot reset; the unit is done with it
        log.info("a checked unit's connection could not be returned cleanly", extra={"error": repr(error)[:200]})
