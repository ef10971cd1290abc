"""What PostgreSQL and SQLite write differently, written once: upserts and row locks.

SQLite has no row locks; its transactions take the database's write lock (``BEGIN IMMEDIATE``, see ``db``), which
serialises writers as the row locks do on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .direct import Direct, unbounded


def insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT that can take ``on_conflict_do_nothing`` / ``on_conflict_do_update`` on either database."""
    return inserter(conn)(table)


def inserter(conn: AsyncConnection) -> Any:
    """The INSERT builder of ``conn``'s database (``postgresql.insert`` or ``sqlite.insert``)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def locked(conn: AsyncConnection, query: Select[Any], *, of: Any = None, skip_locked: bool = False) -> Select[Any]:
    """``query`` taking row locks (``FOR UPDATE [OF …] [SKIP LOCKED]``) on PostgreSQL; unchanged on SQLite."""
    if conn.dialect.name != "postgresql":
        return query
    return query.with_for_update(of=of, skip_locked=skip_locked)


class Locking:
    """A query of the hot paths built once (a ``Direct``), that takes its row locks on PostgreSQL as ``locked``
    does."""

    def __init__(self, query: Select[Any], *, of: Any = None) -> None:
        self.plain = Direct(query)
        self.locking = Direct(query.with_for_update(of=of))

    def on(self, conn: AsyncConnection) -> Direct:
        return self.locking if conn.dialect.name == "postgresql" else self.plain


class Inserting:
    """An INSERT of the hot paths built once for each database (a ``Direct`` each), from ``build``, which is given
    the database's INSERT builder (``on_conflict_do_nothing`` and ``on_conflict_do_update`` are each database's)."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.postgresql = Direct(build(postgresql.insert))
        self.sqlite = Direct(build(sqlite.insert))

    def on(self, conn: AsyncConnection) -> Direct:
        return self.postgresql if conn.dialect.name == "postgresql" else self.sqlite


def any_of(column: Any, name: str = "ids") -> Any:
    """PostgreSQL's "``column`` is one of the array parameter ``name``" (``= ANY``): one compiled statement whatever
    the count."""
    return column == any_(bindparam(name, type_=postgresql.ARRAY(unbounded(column.type), dimensions=1)))


class OneOf:
    """A statement of the hot paths about a list of ids (the parameter ``ids``), built once for each database (a
    ``Direct`` each) from ``build``, which is given the condition "``column`` is one of ``ids``": ``= ANY`` of one
    array parameter on PostgreSQL (one compiled statement whatever the count), ``IN`` on SQLite."""

    def __init__(self, build: Callable[[Callable[[Any], Any]], Any]) -> None:
        self.postgresql = Direct(build(any_of))
        self.sqlite = Direct(build(lambda column: column.in_(bindparam("ids", expanding=True))))

    def on(self, conn: AsyncConnection) -> Direct:
        return self.postgresql if conn.dialect.name == "postgresql" else self.sqlite
