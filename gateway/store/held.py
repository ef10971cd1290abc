"""The connections of checked units on PostgreSQL, held out of their engine's pool between units.

A checked unit runs in autocommit and leaves nothing on its connection (no transaction, no lock, no setting), so
the next unit can take the connection as it is. Taking one from SQLAlchemy's pool and giving it back costs three
greenlet switches and the pool's events (about 80 µs, a tenth of a hub callback's CPU); taking one from here costs
a list's pop. The connections come from an engine of their own, in autocommit, each marked as a checked unit's for
its life (a write sent at once is refused on it, ``direct.refuse_at_once``), so the other units' pool is never short
of what this one holds.

What the pool does for its connections is done here for the held ones:

- at most ``size`` are out at once; a unit waits for one at most ``wait`` seconds, then the database is busy
  (SQLAlchemy's pool timeout, answered as unavailable as the pool's own is);
- one the server closed is replaced without a round trip;
- one idle for longer than ``idle_ping`` seconds is pinged before use, and so is the first taken after a
  connection was found lost; when the ping fails, it and every connection held idle are discarded (the database
  restarted, or the network dropped them all) and a new one is checked out: a unit pings at most once, so its wait
  stays within the statement's bound and the pool's, as with SQLAlchemy's pool, which replaces the connections
  pooled before a lost one;
- one a unit left in doubt (an error other than the unit's own refusal or lost change, a cancellation) goes back to
  the engine's pool; one lost, or with a transaction open on the server, is discarded there.

A connection that is not kept is given back in a task of its own, so neither the unit that let it go nor a second
cancellation waits for it (closing a connection to a server that does not answer takes seconds); the unit's slot
is free once it is back, so the units let in after it find the engine's pool as the slots say.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gateway.store")


class HeldConnections:
    def __init__(self, engine: AsyncEngine, *, size: int, wait: float, idle_ping: float) -> None:
        self.engine = engine
        self.wait = wait
        self.idle_ping = idle_ping
        self._free = Slots(size)
        self._idle: list[tuple[AsyncConnection, float]] = []  # with when each was given back, the latest last
        self._suspect_since = 0.0  # the first connection taken that was held since before this is pinged
        self._returning: set[asyncio.Task[None]] = set()
        self._closing = False

    async def take(self) -> AsyncConnection:
        """A connection for one checked unit; ``give`` it back whatever happens."""
        try:
            await self._free.take(self.wait)
        except TimeoutError as error:
            raise sa_exc.TimeoutError("no connection for a checked unit came free in time") from error
        try:
            return await self._ready()
        except BaseException:
            self._free.release()
            raise

    def give(self, conn: AsyncConnection, *, keep: bool) -> None:
        """Take back ``conn`` from its unit: held for the next when ``keep`` and still sound, else returned to the
        engine's pool (in a task of its own)."""
        if keep and not self._closing and _sound(conn):
            self._idle.append((conn, time.monotonic()))
            self._free.release()
            return
        if conn.invalidated:  # lost: those held idle may be lost too; the next taken is pinged
            self._suspect_since = time.monotonic()
        self._return(conn, broken=_open_on_server(conn), then=self._free.release)

    async def close(self) -> None:
        """Return every held connection to the engine's pool (before the engine is disposed); any given back after
        this is returned too, not held."""
        self._closing = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._return(conn, broken=False)
        while self._returning:
            await asyncio.gather(*self._returning, return_exceptions=True)

    async def _ready(self) -> AsyncConnection:
        while self._idle:
            conn, since = self._idle.pop()
            if _closed(conn):
                self._return(conn, broken=True)
                continue
            if since > self._suspect_since and time.monotonic() - since <= self.idle_ping:
                return conn
            try:
                await conn.exec_driver_sql("SELECT 1")
            except BaseException as error:
                self._return(conn, broken=True)
                if not isinstance(error, Exception):
                    raise
                dropped, self._idle = self._idle, []  # held before it: no better; one ping a unit at most
                for old, _ in dropped:
                    self._return(old, broken=True)
                break
            return conn
        return await self.engine.connect()

    def _return(self, conn: AsyncConnection, *, broken: bool, then: Callable[[], object] | None = None) -> None:
        """Give ``conn`` back to the engine's pool in a task of its own; ``then`` once it is back."""
        task = asyncio.get_running_loop().create_task(_returned(conn, broken=broken))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)
        if then is not None:
            task.add_done_callback(lambda _: then())


class Slots:
    """At most ``size`` taken at once; a taker waits its turn, first come first served, for at most the seconds it
    names. What ``asyncio.Semaphore`` under ``asyncio.timeout`` does, without their work for each wait (a timeout's
    context, the current task's and the running loop's lookups: on Python 3.11 each lookup of the loop is a system
    call), which was about 3 % of a postal event's samples when units queued for the held connections."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0
        self._turns: deque[asyncio.Future[None]] = deque()

    async def take(self, wait: float) -> None:
        """A slot, or ``TimeoutError`` after ``wait`` seconds; ``release`` it once done."""
        if self.taken < self.size and not self._turns:
            self.taken += 1
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._turns.append(turn)
        timer = loop.call_later(wait, _expire, turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release()  # handed a slot, then cancelled before it ran on: the slot passes on
            elif turn in self._turns:
                self._turns.remove(turn)
                if not turn.done():
                    turn.cancel()
            raise
        finally:
            timer.cancel()

    def release(self) -> None:
        """Hand the slot to the first taker still waiting, or free it."""
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot stays taken, by the one whose turn it is
                return
        self.taken -= 1


def _expire(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_exception(TimeoutError())


def _sound(conn: AsyncConnection) -> bool:
    """Whether ``conn`` is as a checked unit must leave it: open, in autocommit, no transaction on the server."""
    if conn.invalidated or _closed(conn):
        return False
    sync = conn.sync_connection
    assert sync is not None
    adapter = sync.connection.dbapi_connection
    return bool(getattr(adapter, "autocommit", False)) and not sync.connection.driver_connection.is_in_transaction()


def _open_on_server(conn: AsyncConnection) -> bool:
    """Whether ``conn`` has a transaction open on the server (which the pool's reset, in autocommit, would leave)."""
    if _closed(conn):
        return False
    sync = conn.sync_connection
    assert sync is not None
    return bool(sync.connection.driver_connection.is_in_transaction())


def _closed(conn: AsyncConnection) -> bool:
    """Whether ``conn`` is closed, invalidated, or closed by the server (known to the driver without a round trip)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return True
    return bool(sync.connection.driver_connection.is_closed())


async def _returned(conn: AsyncConnection, *, broken: bool) -> None:
    """``conn`` back to its engine's pool, or discarded when ``broken`` or closed."""
    try:
        if not conn.invalidated and (broken or _closed(conn)):
            await conn.invalidate()
        if conn.in_transaction():  # SQLAlchemy's own bookkeeping of a statement it ran: nothing on the server
            await conn.rollback()
        await conn.close()
    except Exception as error:  # the pool discards what it cannot reset; the unit is done with it
        log.info("a checked unit's connection could not be returned cleanly", extra={"error": repr(error)[:200]})
