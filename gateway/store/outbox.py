"""The transactional outbox: an event row written in the same transaction as the change it announces, with a
per-dossier ``sequence`` so receivers can order what they get."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.ids import new_id
from gateway.store.tables import outbox as ot

from . import dialect
from .direct import Direct


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


# PostgreSQL allocates the sequence and writes the row in one statement (one round trip): the upsert runs in a
# data-modifying CTE whose RETURNING feeds the insert. SQLite has no such CTE and takes the two statements.
_RECORD_IN_ONE_SQL = text(
    "WITH allocated AS ("
    " INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) VALUES (:portal_id, :dossier_code, 1)"
    " ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence = dossier_sequences.last_sequence + 1"
    " RETURNING last_sequence)"
    " INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, payload, created_at)"
    " SELECT :id, :portal_id, :dossier_code, allocated.last_sequence, :type, :resource_type, :resource_id, :payload,"
    " :created_at FROM allocated"
).bindparams(
    bindparam("payload", type_=ot.outbox.c.payload.type), bindparam("created_at", type_=ot.outbox.c.created_at.type)
)
_RECORD_IN_ONE = Direct(_RECORD_IN_ONE_SQL)  # straight on asyncpg: it is written on every hot path


async def record(
    tx: AsyncConnection,
    *,
    portal_id: str,
    dossier_code: str,
    type: str,
    resource_type: str,
    resource_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> str:
    row = {
        "id": new_id("evt"),
        "portal_id": portal_id,
        "dossier_code": dossier_code,
        "type": type,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "payload": payload,
        "created_at": now,
    }
    if tx.dialect.name == "postgresql":
        await _RECORD_IN_ONE.change(tx, row)
    else:
        row["sequence"] = await next_sequence(tx, portal_id, dossier_code)
        await tx.execute(ot.outbox.insert(), row)
    return str(row["id"])


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
