"""Engines and transactions. On SQLite every transaction is ``BEGIN IMMEDIATE``, so two writers never race a
read-then-write; conditional updates carry the same guarantee on PostgreSQL.

Every wait on the database is bounded (``Limits``): connecting, each statement, a free pooled connection, SQLite's
write lock. A database that is down, restarting or frozen surfaces as ``DatabaseUnavailable`` within those bounds,
never as a hang; the web edge answers it with a 503 and the worker retries the job. A pooled connection that has
been idle for more than ``IDLE_PING_SECONDS`` is pinged before use, and when the ping fails every connection pooled
before it is replaced, so the pool heals by itself once the database is back. A connection in steady use is not
pinged (the ping is three round trips on asyncpg: BEGIN, an empty statement, ROLLBACK), only checked for what the
driver already knows (the server closed it); a statement that finds it broken otherwise is answered as unavailable,
and SQLAlchemy replaces the pool's older connections the same way.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.kernel.errors import Refused

from .direct import CHECKED_UNIT, writes
from .held import HeldConnections
from .uow import LostChange, NeedsLock, UnitOfWork

log = logging.getLogger("gateway.store")
T = TypeVar("T")

# A server that does not answer at all (frozen, or cut off) is given this much longer than its own statement
# timeout, which fires first when the server is alive and leaves the connection usable.
CLIENT_GRACE_SECONDS = 1.0

# A pooled connection idle for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0

# SQLSTATE classes and codes that mean "not now" rather than "wrong": connection exceptions, insufficient
# resources (too many connections), shutting down or starting up, a statement cancelled by its timeout, and a
# transaction the server rolled back to break a deadlock or a serialization conflict (nothing of it committed).
_UNAVAILABLE_STATES = ("08", "53", "57P01", "57P02", "57P03", "57014", "40P01", "40001")
_FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database", "disk i/o error")


@dataclass(frozen=True)
class Limits:
    """How long anything may wait on the database, in seconds. ``statement`` 0 means no limit (migrations)."""

    connect: float = 5.0
    statement: float = 15.0
    pool: float = 5.0
    pool_size: int = 10
    busy: float = 30.0


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer in time: retry later, nothing was committed."""


_JSON = msgspec.json.Encoder()
_READ_JSON = msgspec.json.Decoder()


def json_text(value: Any) -> str:
    """A JSON column's text: msgspec's encoding, a fraction of the standard library's time (an outbox event's
    snapshot is encoded on every change it announces); a string UTF-8 cannot carry (a lone surrogate, which no
    request body can hold: msgspec refuses it on decoding) escaped as the standard library escapes it. A number
    JSON has no word for (NaN, infinity) is null, where the standard library's NaN made PostgreSQL refuse the write."""
    try:
        return _JSON.encode(value).decode()
    except (UnicodeEncodeError, TypeError):  # and a subclass of str or int msgspec will not take: as before
        return json.dumps(value)


def json_value(text: str | bytes) -> Any:
    """A JSON column's value: msgspec's decoding, a fraction of the standard library's time (a page of the event
    feed decodes a hundred snapshots); what msgspec will not read (a number beyond a float's range, NaN, a lone
    surrogate) as the standard library reads it."""
    try:
        return _READ_JSON.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def create_engine(url: str, limits: Limits | None = None, *, checked_units: bool = False) -> AsyncEngine:
    """The engine of ``url``. ``checked_units``: PostgreSQL only, the engine of checked units' connections
    (``held``): in autocommit, up to ``pool_size`` connections, each marked as a checked unit's."""
    limits = limits or Limits()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if checked_units:
            raise ValueError("checked units have connections of their own on PostgreSQL only")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": limits.busy}, json_serializer=json_text, json_deserializer=json_value
        )
        _sqlite_setup(engine, limits)
        return engine
    connect_args: dict[str, Any] = {"timeout": limits.connect}
    server_settings: dict[str, str] = {}
    if limits.statement > 0:
        connect_args["command_timeout"] = limits.statement + CLIENT_GRACE_SECONDS
        server_settings["statement_timeout"] = str(int(limits.statement * 1000))
    options: dict[str, Any] = {}
    if checked_units:
        options["isolation_level"] = "AUTOCOMMIT"
        # A checked unit's statements find their rows by key (ids, references, events' keys, as ``= ANY($n)``) and
        # run thousands of times a second. By default PostgreSQL plans such a statement again at every execution:
        # it takes the generic plan of ``= ANY`` over an array it cannot see for dearer than the one-element plans,
        # and that planning was a third of the database's CPU for a postal event. Their plans are kept instead.
        server_settings["plan_cache_mode"] = "force_generic_plan"
    if server_settings:
        connect_args["server_settings"] = server_settings
    # Up to twice pool_size connections, kept once a burst opened them: a pool that closed what it held beyond
    # pool_size (SQLAlchemy's overflow) opened and closed connections all the time under steady load (about one
    # request in sixteen paid a connection's set-up, with 16 requests at a time and the default 10).
    engine = create_async_engine(
        url,
        pool_size=limits.pool_size if checked_units else 2 * limits.pool_size,
        max_overflow=0,
        pool_timeout=limits.pool,
        connect_args=connect_args,
        json_serializer=json_text,
        json_deserializer=json_value,
        **options,
    )
    _ping_when_idle(engine)
    _refuse_writes_at_once_in_checked_units(engine)
    if checked_units:

        @event.listens_for(engine.sync_engine, "connect")
        def _mark(_dbapi_connection: Any, record: Any) -> None:
            record.info[CHECKED_UNIT] = True  # for the connection's life: this engine serves checked units only

    return engine


def _refuse_writes_at_once_in_checked_units(engine: AsyncEngine) -> None:
    """What ``direct.refuse_at_once`` does for the statements run on ``Direct``, for those run through SQLAlchemy."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _at_once(conn: Any, _cursor: Any, sql: str, _parameters: Any, context: Any, _many: bool) -> None:
        if not conn.info.get(CHECKED_UNIT):
            return
        if writes(getattr(context, "compiled", None) and context.compiled.statement, sql):
            raise ValueError("a checked unit writes nothing at once: keep the write for its commit")


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle for more than ``IDLE_PING_SECONDS``; a
    failed ping replaces it and every connection pooled before it (the database restarted, or the network
    dropped them all). One the server has closed is replaced alone, without a round trip."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():  # the server closed it: known without a round trip
            # this one only: a server that closes one idle connection (idle_session_timeout, a proxy) leaves the
            # others; after a restart each is found closed here in turn
            raise sa_exc.DisconnectionError("pooled connection closed by the server")
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa_exc.InvalidatePoolError(f"pooled connection failed its ping: {error}") from error


def _sqlite_setup(engine: AsyncEngine, limits: Limits) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(limits.busy * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.info.get("sqlite_begin", "BEGIN IMMEDIATE"))


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (raised by the driver or SQLAlchemy) means the database cannot answer now, rather than
    that the statement was wrong: refused or lost connections, connect and statement timeouts, an exhausted pool,
    a server shutting down or starting up, SQLite's lock wait running out."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.SQLAlchemyError) and not _network(error):
        return _driver_says_unavailable(error)
    seen: BaseException | None = error
    while seen is not None:
        if _network(seen) or _driver_says_unavailable(seen):
            return True
        seen = seen.__cause__
    return False


def _network(error: BaseException) -> bool:
    """Socket trouble: refused, reset, unreachable, timed out, no such host (not a file's error)."""
    if isinstance(error, TimeoutError | socket.gaierror):
        return True
    return isinstance(error, OSError) and not isinstance(error, _FILE_ERRORS)


def _driver_says_unavailable(error: BaseException) -> bool:
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNAVAILABLE)
    return False


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as error:
        if is_unavailable(error):
            raise DatabaseUnavailable(f"{type(error).__name__}: {error}".strip()[:300]) from error
        raise


class Database:
    """The database: ``unit()`` for a unit of work, ``read()`` for a consistent read, ``transaction()`` for a bare
    transaction (the store's own records)."""

    def __init__(self, engine: AsyncEngine, limits: Limits | None = None) -> None:
        """On PostgreSQL, checked units have connections of their own (``held``), from a second engine of the same
        database."""
        self.engine = engine
        self.dialect = engine.dialect.name
        self._held: HeldConnections | None = None
        if self.dialect == "postgresql":
            # without limits, those of the engine's pool (twice pool_size connections, create_engine)
            limits = limits or Limits(pool_size=max(1, engine.pool.size() // 2))  # type: ignore[attr-defined]
            url = engine.url.render_as_string(hide_password=False)
            checked = create_engine(url, limits, checked_units=True)
            self._held = HeldConnections(checked, size=limits.pool_size, wait=limits.pool, idle_ping=IDLE_PING_SECONDS)

    @classmethod
    def from_url(cls, url: str, limits: Limits | None = None) -> Database:
        return cls(create_engine(url, limits), limits)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with _translated(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncConnection]:
        """For one statement, atomic by itself: on PostgreSQL it runs in autocommit, without the BEGIN and COMMIT
        round trips of a transaction; on SQLite in a transaction as ``transaction()`` (its write lock taken alike)."""
        if self.is_sqlite:
            async with self.transaction() as conn:
                yield conn
            return
        async with self._autocommit() as conn:
            yield conn

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        async with _translated(), self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work: sends the writes it kept for later and commits on success, rolls back on error."""
        async with self.transaction() as conn:
            uow = UnitOfWork(conn)
            yield uow
            await uow.flush()

    @asynccontextmanager
    async def checked_unit(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work without a transaction of its own on PostgreSQL (``uow`` module: a checked unit): its reads
        in autocommit, its kept writes as one statement that PostgreSQL aborts whole when its kept change finds its
        row not as read (``LostChange``: the caller reads again). Its connection is one held for checked units
        (``held``), whose statements are planned once and keep their plan (``create_engine``): a statement added to a
        checked unit must find its rows by key, not by a range a generic plan could misjudge. On SQLite a unit as
        ``unit()``, whose write lock keeps the row as read."""
        if self.is_sqlite:
            async with self.unit() as uow:
                yield uow
            return
        assert self._held is not None
        async with _translated():
            conn = await self._held.take()
            keep = False
            try:
                uow = UnitOfWork(conn, checked=True)
                yield uow
                await uow.flush()
                keep = True
            except (LostChange, NeedsLock, Refused):  # the unit's own answers: the connection is sound
                keep = True
                raise
            finally:
                self._held.give(conn, keep=keep)

    async def checked(self, work: Callable[[UnitOfWork], Awaitable[T]], *, readings: int, what: str) -> T:
        """What ``work`` returns, run in a checked unit: read again, in a new unit, while its writes find what it read
        changed meanwhile (``LostChange``), as a lock would have had it wait; at the ``readings``-th such change, a
        busy database (the caller answers or retries as for one). ``what`` names the row read, for the log."""
        for reading in range(1, readings + 1):
            try:
                async with self.checked_unit() as uow:
                    done = await work(uow)
                return done
            except LostChange as lost:
                if reading == readings:
                    raise DatabaseUnavailable(f"{what} kept changing while read") from lost
                log.info("a checked unit met a change of what it read: read again", extra={"row": what})
        raise AssertionError("readings must be at least 1")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction that sees one snapshot, so a view read in several statements is consistent (a
        shipment's status with its timeline): REPEATABLE READ on PostgreSQL; on SQLite a deferred transaction,
        since WAL readers need no write lock and see one snapshot anyway."""
        async with _translated(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn.info["sqlite_begin"] = "BEGIN"
            else:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                async with conn.begin():
                    yield conn
            finally:
                if self.is_sqlite and not conn.invalidated:  # a lost connection is not to be revived here
                    conn.info.pop("sqlite_begin", None)

    @asynccontextmanager
    async def single_read(self) -> AsyncIterator[AsyncConnection]:
        """For one read statement, consistent by itself: in autocommit on PostgreSQL, without the BEGIN and COMMIT
        round trips of ``read()``; on SQLite ``read()``'s deferred transaction (no write lock for a reader)."""
        if self.is_sqlite:
            async with self.read() as conn:
                yield conn
            return
        async with self._autocommit() as conn:
            yield conn

    async def ping(self) -> None:
        async with _translated(), self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._held is not None:
            await self._held.close()
            await self._held.engine.dispose()
        await self.engine.dispose()
