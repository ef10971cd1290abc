"""Events written in one batch get the same per-dossier sequences as events written one by one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from adapters.vntime import now_utc
from gateway.store.db import Database
from gateway.store.tables import outbox as ot
from tests.support.store_rows import a_portal


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(dossiers=st.lists(st.sampled_from(["HS-1", "HS-2", "HS-3"]), min_size=1, max_size=12), before=st.integers(0, 3))
async def test_a_batch_numbers_each_dossier_like_single_records(db: Database, dossiers: list[str], before: int) -> None:
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        await uow.conn.execute(delete(ot.outbox))
        await uow.conn.execute(delete(ot.dossier_sequences))
        for _ in range(before):  # a dossier that already has events continues from its last sequence
            await uow.event(
                portal_id=portal_id,
                dossier_code="HS-1",
                type="x",
                resource_type="receipt",
                resource_id="r",
                payload={},
                now=now_utc(),
            )
        events = [
            {
                "portal_id": portal_id,
                "dossier_code": d,
                "type": "receipt.issued",
                "resource_type": "receipt",
                "resource_id": f"rcp_{i}",
                "payload": {"i": i},
            }
            for i, d in enumerate(dossiers)
        ]
        ids = await uow.events(events, now_utc())
    async with db.read() as conn:
        rows = (await conn.execute(select(ot.outbox).where(ot.outbox.c.id.in_(ids)))).all()
    by_id = {row.id: row for row in rows}
    expected: dict[str, int] = {"HS-1": before}
    for event_id, event in zip(ids, events, strict=True):
        expected[event["dossier_code"]] = expected.get(event["dossier_code"], 0) + 1
        row = by_id[event_id]
        assert (row.dossier_code, row.sequence, row.payload) == (
            event["dossier_code"],
            expected[event["dossier_code"]],
            event["payload"],
        )


