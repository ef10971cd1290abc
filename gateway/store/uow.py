"""The unit of work: one transaction, with what every area writes in it besides its own tables: the outbox's events
and the binding of a new resource to the idempotent attempt that made it. Areas' repositories work on ``conn``.

Writes whose outcome nothing in the transaction reads (the outbox's events, an audit row, ledger entries) are
kept until the unit commits (``later``, ``event``) and then sent together: on PostgreSQL in one statement, whatever
their number (the rows of one INSERT as arrays), so a transaction pays one round trip for them. Nothing in the unit
reads them back before it commits: the unit's own statements do not see them, and a write that fails (a unique key)
fails the commit. One change of a row (a payment's move to its next status, conditional on the status read) may
go with them (``change_later``): it must change exactly one row there, or the commit fails (``LostChange``).

A **checked unit** (``Database.checked_unit``) has no transaction of its own on PostgreSQL: its reads run one by one,
each seeing what was committed, and its kept writes go as one statement, atomic by itself, that PostgreSQL aborts
whole when the kept change finds its row no longer as read. Two round trips where a unit takes four (BEGIN, the
read, the writes, COMMIT), for a unit whose one change is conditional on all it read that can change (its caller
says why), that writes nothing but through ``later``, ``event`` and ``change_later`` (a write sent at once would
commit at once) and whose writes fit one statement (else it is refused before anything is sent).

A checked unit may also keep an INSERT of a row whose key it read as free (the post's event, under its unique key;
``later(..., read_free=constraint)``) with no change at all: a key taken meanwhile fails the statement whole, which
in a checked unit is ``LostChange`` too. A violation of any other constraint is the error it is.

Whatever order PostgreSQL runs the parts of that statement in, a lost change writes nothing: the statement fails
whole, by the guard below or by the first part that clashes with the change that won (a ledger group already
posted: an IntegrityError, answered to the hub as "retry"). As PostgreSQL runs them today
the guard reads the change first (the main query reads it; the other parts run after), so it is the guard that
fails, and the payment's row is taken before its dossier's sequence row, the order every unit takes them in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy import bindparam
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.store.tables import idempotency as it

from . import outbox
from .direct import MAX_ARGUMENTS, Direct, Part, write_together

_K = it.idempotency_keys.c
# A key is bound once, by the attempt that holds it: one whose hold ran out, and whose key another attempt took and
# bound meanwhile, finds nothing to bind.
_BIND = Direct(
    it.idempotency_keys.update().where(
        _K.portal_id == bindparam("b_owner"), _K.key == bindparam("b_key"), _K.resource_id.is_(None)
    )
)


class LostChange(RuntimeError):
    """A change kept for the commit did not change the one row it was for: the unit is rolled back."""


class NeedsLock(RuntimeError):
    """A checked unit's work found, from what it read, that it must write at once and read back what it wrote: it
    wrote nothing, and its caller does the work again in a unit that holds its rows' locks."""


# The last part of a statement that carries a kept change: the change runs as the CTE ``kept_change`` (RETURNING a
# row for each row it changed), and this divides by zero unless it changed exactly one, which aborts the statement
# and everything in it (SQLSTATE 22012, read back as LostChange): no other part of the statement divides.
_KEPT_CHANGE = "kept_change"
_GUARD = Part("", f"SELECT 1 / CASE WHEN count(*) = 1 THEN 1 ELSE 0 END FROM {_KEPT_CHANGE}", [])  # noqa: S608
_DIVISION_BY_ZERO = "22012"
# In a checked unit, a key its writes take that another took since the unit read it free (the post's event recorded
# by another path meanwhile): what it read is no longer so, as with a lost change.
_UNIQUE_VIOLATION = "23505"


def key_taken() -> Refused:
    """What an attempt whose key another attempt took over is answered (``UnitOfWork.bind``)."""
    return Refused("idempotency_in_progress", "another request with this Idempotency-Key took it over", retry_after=1)


class UnitOfWork:
    def __init__(self, conn: AsyncConnection, *, checked: bool = False) -> None:
        self.conn = conn
        self.checked = checked
        self._writes: list[tuple[Direct, Mapping[str, Any]]] = []
        self._events: list[dict[str, Any]] = []
        self._change: tuple[Direct, Mapping[str, Any]] | None = None
        self._read_free: set[str] = set()

    async def bind(self, attempt: Attempt | None, resource_id: str) -> None:
        """Tie what ``attempt`` made to its Idempotency-Key, so a retry resumes it (nothing without an attempt). A
        key whose row is gone or bound already (the attempt's hold ran out and another took the key) is refused
        as in progress: the unit writes nothing, and the portal's retry resumes what the other made. In a checked
        unit the binding is the unit's one kept change (so it can change no other row): it goes with the unit's
        writes, which fail whole (``LostChange``) unless the key is there to bind."""
        if attempt is None:
            return
        values = {"resource_id": resource_id, "b_owner": attempt.owner, "b_key": attempt.key}
        if self.checked:
            self.change_later(_BIND, values)
            return
        if await _BIND.change(self.conn, values) != 1:
            raise key_taken()

    def later(self, statement: Direct, rows: Sequence[Mapping[str, Any]], *, read_free: str | None = None) -> None:
        """Run ``statement`` for each of ``rows`` when the unit commits, with its other later writes. Inserts only:
        on PostgreSQL the later writes run on one snapshot, so an update or delete among them would not see the
        others (two changes of one row would keep one), where SQLite, running them in turn, would. ``read_free``:
        the unique constraint under which the unit read the rows' keys as free; in a checked unit, a key taken
        meanwhile under it fails the commit as ``LostChange`` (under any other constraint, as the error it is)."""
        if not getattr(statement.statement, "is_insert", False):
            raise ValueError("only an INSERT can be kept for the commit")
        self._writes.extend((statement, row) for row in rows)
        if read_free is not None:
            self._read_free.add(read_free)

    def change_later(self, statement: Direct, values: Mapping[str, Any]) -> None:
        """Run the UPDATE ``statement`` with ``values`` when the unit commits, with its later writes: for a row the
        unit holds locked, or read in a checked unit (its WHERE names the row as read), and whose change nothing in
        the unit reads back. It must change exactly one row, or the commit fails (``LostChange``). One a unit: on
        PostgreSQL the statement's guard counts its rows (``_GUARD``)."""
        if not getattr(statement.statement, "is_update", False) or statement.statement._returning:
            raise ValueError("only an UPDATE without RETURNING can be kept for the commit as a change")
        if self._change is not None:
            raise ValueError("a unit keeps one change for its commit")
        self._change = (statement, values)

    async def event(self, **announced: Unpack[outbox.Announced]) -> str:
        """Announce a change in the outbox, in the change's own transaction (written when the unit commits, under
        the dossier's next sequence number, in the order announced); the event's id."""
        row = outbox.event_row(**announced)
        self._events.append(row)
        return str(row["id"])

    async def flush(self) -> None:
        """Send the writes kept for later (the unit does so before it commits)."""
        writes, events, change = self._writes, self._events, self._change
        if not writes and not events and change is None:
            return
        self._writes, self._events, self._change = [], [], None
        conn = self.conn
        if conn.dialect.name != "postgresql":
            if change is not None:
                _check(await change[0].change(conn, change[1]))
            for statement, rows in _by_statement(writes):
                await statement.change_many(conn, rows)
            await outbox.record_rows(conn, events)
            return
        last: list[Part] = []
        if change is not None:
            kept = change[0].part(conn, change[1], _KEPT_CHANGE)
            last = [kept._replace(sql=f"{kept.sql} RETURNING 1"), _GUARD]
        chunks = _statements(conn, writes, events, last)
        if self.checked and len(chunks) > 1:
            raise ValueError(f"a checked unit writes in one statement; its writes take {len(chunks)}")
        try:
            for chunk in chunks:
                await write_together(conn, chunk)
        except sa_exc.DBAPIError as error:
            state = _sqlstate(error)
            if change is not None and state == _DIVISION_BY_ZERO:
                raise LostChange("a change kept for the commit did not change exactly its one row") from error
            if (
                self.checked
                and state == _UNIQUE_VIOLATION
                and _driver_error(error, "constraint_name") in self._read_free
            ):
                raise LostChange("a key the checked unit read as free was taken meanwhile") from error
            raise


def _check(changed: int) -> None:
    if changed != 1:
        raise LostChange(f"a change kept for the commit did not change exactly its one row (it changed {changed})")


def unique_taken(error: BaseException, table: str, column: str) -> bool:
    """Whether ``error`` is a unique violation of ``table.column``'s own constraint (``uq_<table>_<column>``): the
    value drawn for it was drawn before. PostgreSQL names the constraint; SQLite names the column."""
    if _sqlstate(error) == _UNIQUE_VIOLATION:
        return _driver_error(error, "constraint_name") == f"uq_{table}_{column}"
    said = getattr(error, "orig", None)
    message = str(said.args[0]) if said is not None and said.args else ""  # the driver's words, no parameters
    return message == f"UNIQUE constraint failed: {table}.{column}"


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver's error as SQLAlchemy raised it."""
    return _driver_error(error, "sqlstate")


def _driver_error(error: BaseException, field: str) -> str | None:
    """A field of the driver's error (asyncpg's ``sqlstate``, ``constraint_name``) under the one SQLAlchemy raised."""
    seen: BaseException | None = error
    while seen is not None:
        value = getattr(seen, field, None) or getattr(getattr(seen, "orig", None), field, None)
        if isinstance(value, str):
            return value
        seen = seen.__cause__
    return None


def _statements(
    conn: AsyncConnection,
    writes: list[tuple[Direct, Mapping[str, Any]]],
    events: list[dict[str, Any]],
    last: list[Part],
) -> list[list[Part]]:
    """The kept writes and events cut into statements that asyncpg can send, each with at most ``MAX_ARGUMENTS``
    parameters. The rows of one INSERT go as one part whatever their number where they can (``Direct.parts``), and
    so do the events (``outbox.events_parts``), which go in the first statement, before ``last`` (the kept change
    and its guard, which end it): a unit takes its dossiers' numbers in one statement, in one order."""
    announced = outbox.events_parts(conn, events) + last
    room = MAX_ARGUMENTS - sum(len(part.arguments) for part in announced)
    chunks: list[list[Part]] = [[]]
    used = 0
    parts = (part for statement, rows in _by_statement(writes) for part in statement.parts(conn, rows))
    for i, part in enumerate(parts):
        if chunks[-1] and used + len(part.arguments) > room:
            chunks.append([])
            used = 0
        chunks[-1].append(part._replace(name=f"write_{i}"))
        used += len(part.arguments)
    chunks[0].extend(announced)
    return chunks


def _by_statement(writes: list[tuple[Direct, Mapping[str, Any]]]) -> list[tuple[Direct, list[Mapping[str, Any]]]]:
    """The kept writes by statement and the names of their values, in the order each first came (they are all
    INSERTs, so their order within the unit does not matter but for the foreign keys among them)."""
    runs: dict[tuple[int, tuple[str, ...]], tuple[Direct, list[Mapping[str, Any]]]] = {}
    for statement, row in writes:
        runs.setdefault((id(statement), tuple(row)), (statement, []))[1].append(row)
    return list(runs.values())
