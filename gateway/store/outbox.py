"""The transactional outbox: an event row written in the same transaction as the change it announces, with a
per-dossier ``sequence`` so receivers can order what they get."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.ids import new_id
from gateway.store.tables import outbox as ot

from . import dialect
from .direct import Direct, Part, renumbered, write_together


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


# On PostgreSQL a dossier's sequence numbers are allocated and its events written in one statement: the upsert
# (taking as many numbers as the dossier has events) runs as a data-modifying CTE whose RETURNING the events'
# insert reads (``events_parts``). SQLite has no such CTE and takes a statement for each.
_ALLOCATE = Direct(
    text(
        "INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) VALUES (:portal_id, :dossier_code,"
        " :taken) ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence ="
        " dossier_sequences.last_sequence + EXCLUDED.last_sequence RETURNING last_sequence"
    )
)
# One event's row; the events of a flush are these rows in one INSERT, so their positions follow the order given.
_INSERT_ALLOCATED = Direct(
    text(
        "INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, payload,"
        " created_at) VALUES (:id, :portal_id, :dossier_code, (SELECT last_sequence FROM allocated) - :after, :type,"
        " :resource_type, :resource_id, :payload, :created_at)"
    ).bindparams(
        bindparam("payload", type_=ot.outbox.c.payload.type),
        bindparam("created_at", type_=ot.outbox.c.created_at.type),
        bindparam("after", type_=Integer()),
    )
)
_ALLOCATED = re.compile(r"\ballocated\b")
_VALUES = " VALUES "


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


def events_parts(tx: AsyncConnection, rows: Sequence[dict[str, Any]], prefix: str = "outbox") -> list[Part]:
    """The writes of ``rows`` (``event_row``s, in order) for ``write_together`` on PostgreSQL, the events' insert
    last: the sequence numbers each dossier takes at once, then every event in one INSERT, in the order given, each
    under its dossier's number."""
    if not rows:
        return []
    allocations: dict[tuple[str, str], str] = {}
    taken: dict[tuple[str, str], int] = {}
    for row in rows:
        dossier = (row["portal_id"], row["dossier_code"])
        allocations.setdefault(dossier, f"{prefix}_seq_{len(allocations)}")
        taken[dossier] = taken.get(dossier, 0) + 1
    parts = [
        _ALLOCATE.part(tx, {"portal_id": p, "dossier_code": d, "taken": taken[(p, d)]}, name)
        for (p, d), name in allocations.items()
    ]
    head, tuples, arguments = "", [], []
    numbered = dict.fromkeys(taken, 0)
    for row in rows:
        dossier = (row["portal_id"], row["dossier_code"])
        numbered[dossier] += 1
        one = _INSERT_ALLOCATED.part(tx, {**row, "after": taken[dossier] - numbered[dossier]})
        head, values = one.sql.split(_VALUES, 1)
        tuples.append(_ALLOCATED.sub(allocations[dossier], renumbered(values, len(arguments))))
        arguments.extend(one.arguments)
    parts.append(Part(f"{prefix}_events", f"{head}{_VALUES}{', '.join(tuples)}", arguments))
    return parts


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


async def record_many(tx: AsyncConnection, events: list[dict[str, Any]], now: datetime) -> list[str]:
    """``record`` for many events at once (each a dict of ``record``'s keyword arguments but ``now``): two
    statements however many, with the same per-dossier sequences as one call of ``record`` per event in order."""
    if not events:
        return []
    wanted: dict[tuple[str, str], int] = {}
    for event in events:
        dossier = (event["portal_id"], event["dossier_code"])
        wanted[dossier] = wanted.get(dossier, 0) + 1
    insert = dialect.inserter(tx)
    seq = ot.dossier_sequences
    statement = insert(seq).values(
        [{"portal_id": p, "dossier_code": d, "last_sequence": n} for (p, d), n in wanted.items()]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[seq.c.portal_id, seq.c.dossier_code],
        set_={"last_sequence": seq.c.last_sequence + statement.excluded.last_sequence},
    ).returning(seq.c.portal_id, seq.c.dossier_code, seq.c.last_sequence)
    following = {
        (row.portal_id, row.dossier_code): row.last_sequence - wanted[(row.portal_id, row.dossier_code)] + 1
        for row in await tx.execute(statement)
    }
    rows = []
    for event in events:
        dossier = (event["portal_id"], event["dossier_code"])
        rows.append({**event, "id": new_id("evt"), "sequence": following[dossier], "created_at": now})
        following[dossier] += 1
    await tx.execute(ot.outbox.insert(), rows)
    return [row["id"] for row in rows]
