"""Rows the store's own tests write: an audit row of the hub's word (the simplest table with no foreign key), and
a portal for the events' rows."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.portals import service as portals
from gateway.store.db import Database

RECEIVED_AT = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)


def hub_result_row(reference: str, amount: int | None = 150_000) -> dict[str, object]:
    return {
        "reference": reference,
        "source": "callback",
        "raw_code": "00",
        "outcome": "paid",
        "amount": amount,
        "transaction_id": "T1",
        "disposition": "applied",
        "received_at": RECEIVED_AT,
    }


_portals: dict[str, str] = {}  # by the database's URL: each test's database is a new one


async def a_portal(db: Database) -> str:
    """A portal in ``db``, made once per database."""
    url = str(db.engine.url)
    if url not in _portals:
        _portals[url], _ = await portals.create_portal(db, "Cổng thử")
    return _portals[url]
