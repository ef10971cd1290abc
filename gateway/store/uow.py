"""The unit of work: one transaction, with what every area writes in it besides its own tables: the outbox's events
and the binding of a new resource to the idempotent attempt that made it. Areas' repositories work on ``conn``.

Writes whose outcome nothing in the transaction reads (the outbox's events, an audit row, ledger entries) are
kept until the unit commits (``later``, ``event``) and then sent together: on PostgreSQL in one statement, whatever
their number (the rows of one INSERT as arrays), so a transaction pays one round trip for them. Nothing in the unit
reads them back before it commits: the unit's own statements do not see them, and a write that fails (a unique key)
fails the commit. One change of a row the unit holds locked (a payment's move to its next status) may go with them
(``change_later``): it must change exactly one row there, or the commit fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.attempts import Attempt
from gateway.store.tables import idempotency as it

from . import outbox
from .direct import MAX_ARGUMENTS, Direct, Part, write_together

_K = it.idempotency_keys.c
_BIND = Direct(it.idempotency_keys.update().where(_K.portal_id == bindparam("b_owner"), _K.key == bindparam("b_key")))


class LostChange(RuntimeError):
    """A change kept for the commit did not change the one row it was for: the unit is rolled back."""


class UnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._writes: list[tuple[Direct, Mapping[str, Any]]] = []
        self._events: list[dict[str, Any]] = []
        self._change: tuple[Direct, Mapping[str, Any]] | None = None

    async def bind(self, attempt: Attempt | None, resource_id: str) -> None:
        """Tie what ``attempt`` made to its Idempotency-Key, so a retry resumes it (nothing without an attempt)."""
        if attempt is None:
            return
        await _BIND.change(self.conn, {"resource_id": resource_id, "b_owner": attempt.owner, "b_key": attempt.key})

    def later(self, statement: Direct, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run ``statement`` for each of ``rows`` when the unit commits, with its other later writes. Inserts only:
        on PostgreSQL the later writes run on one snapshot, so an update or delete among them would not see the
        others (two changes of one row would keep one), where SQLite, running them in turn, would."""
        if not getattr(statement.statement, "is_insert", False):
            raise ValueError("only an INSERT can be kept for the commit")
        self._writes.extend((statement, row) for row in rows)

    def change_later(self, statement: Direct, values: Mapping[str, Any]) -> None:
        """Run the UPDATE ``statement`` with ``values`` when the unit commits, with its later writes: for a row the
        unit holds locked, whose change nothing in the unit reads back. It must change exactly one row, or the
        commit fails (``LostChange``). One a unit: on PostgreSQL it is the statement whose count is read."""
        if not getattr(statement.statement, "is_update", False):
            raise ValueError("only an UPDATE can be kept for the commit as a change")
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
        last = [] if change is None else [change[0].part(conn, change[1])]
        for i, chunk in enumerate(_statements(conn, writes, events, last)):
            changed = await write_together(conn, chunk)
            if i == 0 and last:
                _check(changed)


def _check(changed: int) -> None:
    if changed != 1:
        raise LostChange(f"a change kept for the commit changed {changed} rows, not 1")


def _statements(
    conn: AsyncConnection,
    writes: list[tuple[Direct, Mapping[str, Any]]],
    events: list[dict[str, Any]],
    last: list[Part],
) -> list[list[Part]]:
    """The kept writes and events cut into statements that asyncpg can send, each with at most ``MAX_ARGUMENTS``
    parameters. The rows of one INSERT go as one part whatever their number where they can (``Direct.parts``), and
    so do the events (``outbox.events_parts``), which go in the first statement, before ``last`` (the kept change,
    the statement whose count its status gives): a unit takes its dossiers' numbers in one statement, in one
    order."""
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
