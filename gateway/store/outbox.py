"""The transactional outbox: an event row written in the same transaction as the change it announces, with a
per-dossier ``sequence`` so receivers can order what they get."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.ids import new_id
from gateway.store.tables import outbox as ot

from . import dialect
from .direct import Direct, Part, unbounded, write_together


async def next_sequence(tx: AsyncConnection, portal_id: str, dossier_code: str) -> int:
    """Allocate the dossier's next sequence number; the row lock serialises concurrent writers of one dossier."""
    insert = dialect.inserter(tx)
    seq = ot.dossier_sequences
    statement = (
        insert(seq)
        .values(portal_id=portal_id, dossier_code=dossier_code, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[seq.c.portal_id, seq.c.dossier_code],
            set_={"last_sequence": seq.c.last_sequence + 1},
        )
        .returning(seq.c.last_sequence)
    )
    return int((await tx.execute(statement)).scalar_one())


_SEQ = ot.dossier_sequences.c
_OUT = ot.outbox.c

# On PostgreSQL the sequence numbers of a unit's events are allocated and its events written in one statement,
# whatever their number: one upsert takes as many numbers as each dossier has events, its rows in the order of the
# dossiers' keys, so that units touching the same dossiers lock their rows in the same order and cannot deadlock on
# them (a unit that flushes before its commit takes them per flush); it runs as a data-modifying CTE whose RETURNING
# the events' insert reads (``events_parts``). SQLite has no such CTE and takes a statement for each.
_ALLOCATE = Direct(
    text(
        "INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) VALUES (:portal_id, :dossier_code,"
        " :taken) ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence ="
        " dossier_sequences.last_sequence + EXCLUDED.last_sequence RETURNING portal_id, dossier_code, last_sequence"
    ).bindparams(
        bindparam("portal_id", type_=_SEQ.portal_id.type),
        bindparam("dossier_code", type_=_SEQ.dossier_code.type),
        bindparam("taken", type_=_SEQ.last_sequence.type),
    )
)
# The events of a flush, each column an array of their values, inserted in the order given (so their positions
# follow it), each under its dossier's number, joined by hash rather than looked up event by event (a unit's time
# would grow with its events times its dossiers). Its dossier is found by the values as stored (cast to the
# columns' types, as the upsert stored them; a test holds the casts to the table); an event whose dossier took no
# number would have none, and the column refuses it.
_EVENT_COLUMNS = ("id", "portal_id", "dossier_code", "type", "resource_type", "resource_id", "payload", "created_at")
_INSERT_EVENTS = Direct(
    text(
        "INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, payload,"
        " created_at) SELECT e.id, e.portal_id, e.dossier_code, outbox_seq.last_sequence - e.taken_after, e.type,"
        " e.resource_type, e.resource_id, e.payload, e.created_at FROM unnest(:id, :portal_id, :dossier_code,"
        " :taken_after, :type, :resource_type, :resource_id, :payload, :created_at) WITH ORDINALITY AS e(id,"
        " portal_id, dossier_code, taken_after, type, resource_type, resource_id, payload, created_at, kept_at)"
        " LEFT JOIN outbox_seq ON outbox_seq.portal_id = CAST(e.portal_id AS VARCHAR(32))"
        " AND outbox_seq.dossier_code = CAST(e.dossier_code AS VARCHAR(64)) ORDER BY e.kept_at"
    ).bindparams(
        # arrays of one dimension: a payload that is a list is one JSON value, not a row of the array
        *(bindparam(name, type_=postgresql.ARRAY(unbounded(_OUT[name].type), dimensions=1)) for name in _EVENT_COLUMNS),
        bindparam("taken_after", type_=postgresql.ARRAY(Integer(), dimensions=1)),
    )
)


class Announced(TypedDict):
    """What an event announces: the change's portal and dossier, its type, the resource and its snapshot, when."""

    portal_id: str
    dossier_code: str
    type: str
    resource_type: str
    resource_id: str
    payload: dict[str, Any]
    now: datetime


def event_row(**announced: Unpack[Announced]) -> dict[str, Any]:
    """The outbox row of an event, with its id (``events_parts`` and ``record_rows`` take these)."""
    row: dict[str, Any] = dict(announced)
    row["created_at"] = row.pop("now")
    row["id"] = new_id("evt")
    return row


def events_parts(tx: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[Part]:
    """The writes of ``rows`` (``event_row``s, in order) for ``write_together`` on PostgreSQL, the events' insert last:
    the sequence numbers every dossier takes at once (``outbox_seq``), then every event in one INSERT, in the order
    given, each under its dossier's number."""
    if not rows:
        return []
    taken: dict[tuple[str, str], int] = {}
    for row in rows:
        dossier = (row["portal_id"], row["dossier_code"])
        taken[dossier] = taken.get(dossier, 0) + 1
    dossiers = [{"portal_id": p, "dossier_code": d, "taken": taken[(p, d)]} for p, d in sorted(taken)]
    (allocate,) = _ALLOCATE.parts(tx, dossiers)
    numbered = dict.fromkeys(taken, 0)
    after = []
    for row in rows:
        dossier = (row["portal_id"], row["dossier_code"])
        numbered[dossier] += 1
        after.append(taken[dossier] - numbered[dossier])
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in _EVENT_COLUMNS}
    events = _INSERT_EVENTS.part(tx, {**columns, "taken_after": after}, "outbox_events")
    return [allocate._replace(name="outbox_seq"), events]


async def record_rows(tx: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (``event_row``s) now, in order: one statement on PostgreSQL, two an event on SQLite."""
    if not rows:
        return
    if tx.dialect.name == "postgresql":
        await write_together(tx, events_parts(tx, rows))
        return
    for row in rows:
        sequence = await next_sequence(tx, row["portal_id"], row["dossier_code"])
        await tx.execute(ot.outbox.insert(), {**row, "sequence": sequence})
