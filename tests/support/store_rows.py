"""Rows the store's own tests write: an audit row of the hub's word, the simplest table with no foreign key."""

from __future__ import annotations

from datetime import UTC, datetime

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
