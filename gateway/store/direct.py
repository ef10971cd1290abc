"""Statements of the hot paths, built once with SQLAlchemy and run on PostgreSQL straight on the asyncpg connection
of the caller's transaction, without SQLAlchemy's work around each execution (an execution context, a greenlet
switch, result processing). On any other database they run through SQLAlchemy as every other statement does.

A ``Direct`` wraps one SQLAlchemy statement, the one definition of the query. It is compiled once per set of
parameter names, as SQLAlchemy itself would compile it for the asyncpg dialect (its SQL text, its parameters in
order, the column types' bind and result processing), and run on the driver connection that the unit of work holds:

- in the same transaction: SQLAlchemy's asyncpg adapter begins its transaction lazily, at its first statement, so
  ``Direct`` begins it first when it has not begun (nothing is begun on a connection in autocommit, as in
  ``Database.single_statement``);
- with the same errors: a driver error is handed to SQLAlchemy's own handling, which wraps it as SQLAlchemy would
  (``IntegrityError``, ``DBAPIError`` …) and, when the connection is lost, invalidates it and every connection
  pooled before it, as for any statement.

What it returns is plain: mappings of column name to value for rows, the number of rows for a change.

``insert_rows`` is the bulk counterpart of an INSERT: on PostgreSQL one binary COPY of the rows, their values
processed by the columns' types as SQLAlchemy would bind them.

``write_together`` sends several writes of a transaction as one statement on PostgreSQL (one round trip): each
write but the last becomes a data-modifying CTE, which PostgreSQL runs to completion whether or not anything reads
it, and a write may read what an earlier one returns by its name (``Part``). ``parts`` lays out an INSERT of many
rows for it: one part whatever their number when the statement is a plain ``INSERT … VALUES (…)``, each parameter an
array of the rows' values that ``unnest`` turns back into rows, so its SQL is the same for any count and PostgreSQL
parses and plans it once (asyncpg keeps it prepared).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

Processor = Callable[[Any], Any]
_PLACEHOLDER = re.compile(r"\$(\d+)")
MAX_ARGUMENTS = 32_767  # asyncpg's limit on the parameters of one statement
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_VALUES = " VALUES "


def _renumberable(sql: str) -> bool:
    """Whether every '$' in ``sql`` is a parameter, none in a quoted literal or name (``write_together`` renumbers
    the parameters: it takes no statement that has another '$')."""
    outside = _QUOTED.sub("''", sql)
    return sql.count("$") == outside.count("$") == len(_PLACEHOLDER.findall(outside))


class _Compiled:
    """A statement compiled for asyncpg: its SQL text, how to turn the parameters into positional arguments, and
    how to process the columns of its rows."""

    __slots__ = ("compiled", "order", "plan", "renumberable", "results", "sql", "unnested", "writes")

    def __init__(self, statement: Any, conn: AsyncConnection, keys: Sequence[str]) -> None:
        dialect = conn.dialect
        self.compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = self.compiled.string
        self.writes = writes(statement, self.sql)  # refused at once in a checked unit (``refuse_at_once``)
        self.order = tuple(self.compiled.positiontup or ())
        binds: dict[str, Processor] = {}
        for name, bind in self.compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds[name] = processor
        sources = _sources(self.compiled, frozenset(keys))
        self.plan = tuple((sources[name], binds.get(name)) for name in self.order)
        self.results: dict[str, Processor] = {}
        for name, column in _selected(statement):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                self.results[name] = processor

        self.renumberable = _renumberable(self.sql)
        shape = _rows_shape(self.sql, len(self.order)) if self.renumberable else None
        self.unnested = None
        if shape is not None:
            types = [_array_element(self.compiled.binds[name].type, dialect) for name in self.order]
            self.unnested = _unnested(shape, types)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``values`` (with the keys this was compiled for), each processed by its
        type as SQLAlchemy binds it."""
        arguments = []
        for source, process in self.plan:
            value = values[source] if source.__class__ is str else source.value()
            arguments.append(value if process is None else process(value))
        return arguments

    def rows(self, records: list[Any]) -> list[Mapping[str, Any]]:
        results = self.results
        if not results:
            return records  # asyncpg's records are mappings of column name to value
        return [{k: results[k](v) if k in results else v for k, v in record.items()} for record in records]


class _Fixed(NamedTuple):
    """A parameter the caller's values do not name: the statement's own value, or its default called each time."""

    bound: Any  # the BindParameter

    def value(self) -> Any:
        return self.bound.effective_value if self.bound.callable else self.bound.value


def _sources(compiled: Any, keys: frozenset[str]) -> dict[str, str | _Fixed]:
    """Where each parameter of ``compiled`` (by its name in ``positiontup``) takes its value from, for values with
    exactly ``keys``: the key that names it, or what the statement holds for it. SQLAlchemy's ``construct_params``
    decides the same for every call, by the same rules in the same order over the caller's values laid over the
    statement's collected ones (a parameter's key, then its compiled name, then its own value); deciding once takes
    it off each statement's run."""
    collected = getattr(compiled, "_collected_params", None) or {}
    sources: dict[str, str | _Fixed] = {}
    for bound, name in compiled.bind_names.items():
        if bound.key in keys:
            sources[name] = str(bound.key)  # a plain str: ``arguments`` tells a key from a _Fixed by its class
        elif bound.key in collected:
            sources[name] = _Fixed(bound._with_value(collected[bound.key]))
        elif name in keys:
            sources[name] = str(name)
        elif name in collected:
            sources[name] = _Fixed(bound._with_value(collected[name]))
        elif bound.required:
            raise exc.InvalidRequestError(f"A value is required for bind parameter {bound.key!r}", code="cd3x")
        else:
            sources[name] = _Fixed(bound)
    return sources


def _rows_shape(sql: str, count: int) -> tuple[str, str, str] | None:
    """An INSERT of one row of parameters as (head, row, tail), to take its row's values from arrays; None for any
    other statement (a SELECT for its values, a quoted value, a parameter outside the row)."""
    head, found, rest = sql.partition(_VALUES)
    row = _first_row(rest) if found and head.startswith("INSERT INTO ") else None
    if row is None or count == 0:
        return None
    tail = rest[len(row) :]
    numbers = {int(n) for n in _PLACEHOLDER.findall(row)}
    if "$" in head or "$" in tail or numbers != set(range(1, count + 1)):
        return None
    return head, row, tail


def _first_row(values: str) -> str | None:
    """The parenthesised row ``values`` starts with (parentheses inside it balanced), or None; nothing quoted."""
    if not values.startswith("("):
        return None
    depth = 0
    for at, char in enumerate(values):
        if char in "'\"":
            return None
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return values[: at + 1]
    return None


def _unnested(shape: tuple[str, str, str], types: Sequence[str | None]) -> str | None:
    """The INSERT of ``shape`` (``_rows_shape``) for any number of rows, each parameter ``$n`` an array of the values
    of its rows (of SQL type ``types[n - 1]``) that ``unnest`` turns back into rows, in the order given: one statement
    whatever the count, which PostgreSQL parses and plans once; None when a parameter has no type to make an array
    of (SQLAlchemy knows none: ``text`` without ``bindparams``)."""
    if not all(types):
        return None
    head, row, tail = shape
    names = ", ".join(f"c{n}" for n in range(1, len(types) + 1))
    selected = _PLACEHOLDER.sub(lambda m: f"kept.c{m.group(1)}", row[1:-1])
    arrays = ", ".join(f"${n}::{sql_type}[]" for n, sql_type in enumerate(types, 1))
    # built from the statement SQLAlchemy compiled and the types it knows: no value is in it
    unnest = f"unnest({arrays}) WITH ORDINALITY AS kept({names}, kept_at) ORDER BY kept.kept_at"
    return f"{head} SELECT {selected} FROM {unnest}{tail}"  # noqa: S608


def _array_element(bind_type: Any, dialect: Any) -> str | None:
    """The SQL type of an array of the values of a parameter of ``bind_type``, without its length (``VARCHAR(n)[]``
    would cut longer values, where the column refuses them); None when SQLAlchemy knows no type for it."""
    if bind_type._isnull:
        return None
    try:
        return str(dialect.type_compiler_instance.process(unbounded(bind_type)))
    except (AttributeError, NotImplementedError, exc.CompileError):  # a type SQLAlchemy cannot name in DDL
        return None


def unbounded(column_type: Any) -> Any:
    """``column_type`` without its length: an array parameter cast to ``VARCHAR(n)[]`` would cut longer values to n
    characters, and a cut id could match another."""
    if getattr(column_type, "length", None) is None:
        return column_type
    copy = column_type.copy()
    copy.length = None
    return copy


def _selected(statement: Any) -> list[tuple[str, Any]]:
    """The columns a statement returns, by name (a SELECT's, or a change's RETURNING)."""
    if getattr(statement, "is_select", False):
        return list(statement.selected_columns.items())
    if getattr(statement, "is_dml", False):
        return list(statement.exported_columns.items())
    return []


# Set in the ``info`` of every connection of the checked units' engine, for the connection's life (``held``,
# ``db.create_engine``): what a checked unit writes goes in its one statement of kept writes (``write_together``),
# and a write sent at once is refused.
CHECKED_UNIT = "checked_unit"


# The words of a statement that writes or takes row locks, in SQL a checked unit would send at once (its reads are
# plain SELECTs: a row lock taken in autocommit would cost a transaction and a commit of its own).
_WRITING = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|COPY|TRUNCATE|SHARE)\b", re.IGNORECASE)


def writes(statement: Any, sql: str) -> bool:
    """Whether ``statement`` (its text ``sql``) writes: a DML construct, or SQL that names a write or a row lock."""
    return bool(getattr(statement, "is_dml", False)) or _WRITING.search(sql) is not None


def refuse_at_once(conn: AsyncConnection, writing: bool) -> None:
    """Refuse a write (or a locking read) sent at once on a connection a checked unit holds: in autocommit it would
    commit at once, outside the statement that applies the unit's writes only to what it read."""
    if writing and conn.info.get(CHECKED_UNIT):
        raise ValueError("a checked unit writes nothing at once: keep the write for its commit")


class Direct:
    """One statement of a hot path, built once: ``rows``, ``change`` and ``change_many`` run it on ``conn``."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, ...], _Compiled] = {}

    async def rows(self, conn: AsyncConnection, values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The statement's rows, as mappings of column name to value."""
        driver = await _driver(conn)
        if driver is None:
            return [row._mapping for row in await conn.execute(self.statement, dict(values))]
        compiled = self._compile(conn, values)
        refuse_at_once(conn, compiled.writes)
        records = await _on_driver(conn, driver.fetch, compiled.sql, compiled.arguments(values))
        return compiled.rows(records)

    async def change(self, conn: AsyncConnection, values: Mapping[str, Any]) -> int:
        """Run a change; the number of rows it changed."""
        driver = await _driver(conn)
        if driver is None:
            return int((await conn.execute(self.statement, dict(values))).rowcount)
        compiled = self._compile(conn, values)
        refuse_at_once(conn, compiled.writes)
        return _count(await _on_driver(conn, driver.execute, compiled.sql, compiled.arguments(values)))

    async def change_many(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a change once for each of ``rows`` (all with the same keys), in one round trip."""
        if not rows:
            return
        driver = await _driver(conn)
        if driver is None:
            await conn.execute(self.statement, [dict(row) for row in rows])
            return
        compiled = self._compile(conn, rows[0])
        refuse_at_once(conn, compiled.writes)
        await _on_driver(conn, driver.executemany, compiled.sql, [compiled.arguments(row) for row in rows], many=True)

    def part(self, conn: AsyncConnection, values: Mapping[str, Any], name: str = "") -> Part:
        """The statement with ``values`` as a part of ``write_together`` (PostgreSQL only), named ``name``."""
        compiled = self._compile(conn, values)
        if not compiled.renumberable:
            raise ValueError(f"a '$' that is not a parameter: {compiled.sql}")
        return Part(name, compiled.sql, compiled.arguments(values))

    def parts(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[Part]:
        """The statement for each of ``rows`` (all with the same keys) as parts of ``write_together``, unnamed: one
        part whatever their number when the statement is an INSERT of one row of typed parameters (each parameter
        an array of its rows' values, ``_unnested``); a part a row otherwise."""
        if not rows:
            return []
        compiled = self._compile(conn, rows[0])
        if compiled.unnested is None or len(rows) == 1:
            return [self.part(conn, row) for row in rows]
        columns = zip(*(compiled.arguments(row) for row in rows), strict=True)
        return [Part("", compiled.unnested, [list(column) for column in columns])]

    def _compile(self, conn: AsyncConnection, values: Mapping[str, Any]) -> _Compiled:
        keys = tuple(values)
        compiled = self._compiled.get(keys)
        if compiled is None:
            compiled = self._compiled[keys] = _Compiled(self.statement, conn, keys)
        return compiled


class Part(NamedTuple):
    """A write of ``write_together``: its SQL for asyncpg (parameters ``$1``…), its arguments, and the name by which
    a later part reads what it returns (its RETURNING); names are unique within a call."""

    name: str
    sql: str
    arguments: list[Any]


async def write_together(conn: AsyncConnection, parts: Sequence[Part]) -> int:
    """Run ``parts`` in the caller's transaction on PostgreSQL as one statement: ``WITH`` the first parts, each as a
    data-modifying CTE under its name, the last part; the number of rows the last part wrote. PostgreSQL runs every
    part to completion on the same snapshot, so no part may change a row that another changes, nor read another's
    rows but through its RETURNING."""
    if not parts:
        return 0
    names = [part.name for part in parts[:-1]]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"each part but the last needs a name of its own: {names}")
    sql, arguments = _joined(parts)
    if len(arguments) > MAX_ARGUMENTS:
        raise ValueError(f"{len(arguments)} parameters in one statement: asyncpg sends at most {MAX_ARGUMENTS}")
    driver = await _driver(conn)
    if driver is None:
        raise ValueError("write_together runs on PostgreSQL only")
    return _count(await _on_driver(conn, driver.execute, sql, arguments))


def _count(status: str) -> int:
    """The number of rows of a command's status (``UPDATE 1``, ``INSERT 0 3``); -1 for a command that has none."""
    count = status.rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else -1


def _joined(parts: Sequence[Part]) -> tuple[str, list[Any]]:
    shape = tuple((part.name, part.sql, len(part.arguments)) for part in parts)
    kept = sum(len(sql) for _, sql, _ in shape) <= KEPT_STATEMENT_CHARS
    sql = (_kept_joined_sql if kept else _joined_sql)(shape)
    return sql, [argument for part in parts for argument in part.arguments]


def _joined_sql(shape: tuple[tuple[str, str, int], ...]) -> str:
    """The statement of parts given as (name, SQL, number of arguments): ``WITH`` the first, the last."""
    *first, (_, last, _) = shape
    ctes = []
    offset = 0
    for name, sql, count in first:
        ctes.append(f"{name} AS ({renumbered(sql, offset)})")
        offset += count
    main = renumbered(last, offset)
    return f"WITH {', '.join(ctes)} {main}" if ctes else main


# The last statements of at most KEPT_STATEMENT_CHARS are kept (a callback's is always the same; a batch's recurs
# with its size); a larger one is joined each time rather than held in memory.
KEPT_STATEMENT_CHARS = 32_000
_kept_joined_sql = functools.lru_cache(maxsize=256)(_joined_sql)


def renumbered(sql: str, offset: int) -> str:
    """``sql`` (SQL for asyncpg, or a piece of it) with its parameters ``$n`` moved to ``$(n + offset)``."""
    if offset == 0:
        return sql
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in the caller's transaction: a COPY on PostgreSQL, an INSERT of
    many rows elsewhere. A column left out takes its server default; one with a default computed by SQLAlchemy
    must be given (a COPY would not compute it)."""
    refuse_at_once(conn, True)
    if not rows:
        return
    names = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"{table.name}: every row must name the same columns ({', '.join(names)})")
    computed = [column.name for column in table.columns if column.default is not None and column.name not in names]
    if computed:
        raise ValueError(f"{table.name}: give {', '.join(computed)}; their defaults are computed by SQLAlchemy")
    driver = await _driver(conn)
    if driver is None:
        await conn.execute(table.insert(), [dict(row) for row in rows])
        return
    dialect = conn.dialect
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names]
    copy = driver.copy_records_to_table
    try:  # a value its type refuses is SQLAlchemy's error too, as it is on an INSERT
        records = [
            tuple(row[name] if process is None else process(row[name]) for name, process in processors) for row in rows
        ]
        await copy(table.name, records=records, columns=names, schema_name=table.schema)
    except Exception as error:
        await _raise_as_sqlalchemy(conn, error, f"COPY {table.name} ({', '.join(names)}) FROM STDIN", ())


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, its transaction begun; None on any other driver."""
    if conn.dialect.driver != "asyncpg":
        return None
    fairy = conn.sync_connection.connection  # type: ignore[union-attr]  # checked out for the unit's life
    adapter = fairy.dbapi_connection
    if adapter._transaction is None and not adapter.autocommit:
        try:
            await adapter._start_transaction()
        except Exception as error:
            await _raise_as_sqlalchemy(conn, error, "BEGIN", ())
    return fairy.driver_connection


async def _on_driver(conn: AsyncConnection, call: Any, sql: str, args: Any, many: bool = False) -> Any:
    """``call(sql, *args)`` on asyncpg (``call(sql, args)`` for many rows); its errors raised as SQLAlchemy's."""
    try:
        return await (call(sql, args) if many else call(sql, *args))
    except Exception as error:
        await _raise_as_sqlalchemy(conn, error, sql, args)


async def _raise_as_sqlalchemy(conn: AsyncConnection, error: Exception, sql: str, args: Any) -> Any:
    """Raise ``error`` as SQLAlchemy raises a driver's error, with what it does for a lost connection."""
    sync = conn.sync_connection
    assert sync is not None
    adapter = sync.connection.dbapi_connection

    def through_sqlalchemy() -> None:
        try:
            adapter._handle_exception(error)  # type: ignore[union-attr]  # the driver's error as the DBAPI's
        except Exception as adapted:
            sync._handle_dbapi_exception(adapted, sql, args, None, None)
        raise error  # pragma: no cover - both of the above raise

    await greenlet_spawn(through_sqlalchemy)
