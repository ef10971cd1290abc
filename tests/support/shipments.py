"""Helpers for the shipment tests: request bodies, the post's control API, and reading what was recorded."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.store.tables import idempotency as it
from gateway.store.tables import outbox as ot
from gateway.store.tables import shipments as st
from tests.support.api import BACKGROUND_EVENTS, key
from tests.support.services import wait_for
from tests.support.stack import AGENCY, Stack

POSTAL_PROCEDURE = "1.001193"  # in the test agency's catalogue, allowed by post
COUNTED = (st.shipments, st.shipment_events, st.cod_collections, st.postal_cursors, it.idempotency_keys)


def shipment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dossier_code": f"000.00.01.H26-{secrets.token_hex(4)}",
        "direction": "deliver_result",
        "agency_code": AGENCY.code,
        "procedure_code": POSTAL_PROCEDURE,
        "citizen": {
            "name": "Trần Văn Bình",
            "phone": "+84 912 345 678",
            "address": {"province_code": "79", "commune_code": "25747", "street": "12 Yersin"},
        },
        "weight_grams": 300,
    }
    body.update(overrides)
    return body


async def book(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Book a shipment and wait until the post's "created" event is on its timeline, so nothing is in flight."""
    response = await api.post("/v1/shipments", json=shipment_body(**overrides), headers=key())
    assert response.status_code == 201, response.text
    shipment = response.json()
    await wait_shipment(api, shipment["id"], lambda s: len(s["timeline"]) >= 1, "the created event")
    return shipment  # type: ignore[no-any-return]


async def advance(post: httpx.AsyncClient, original_id: str, **body: Any) -> list[dict[str, Any]]:
    response = await post.post(f"/control/orders/{original_id}/advance", json=body)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


async def faults(post: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await post.put("/control/faults", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wait_shipment(api: httpx.AsyncClient, shipment_id: str, done: Any, what: str, timeout: float = 15) -> Any:
    """The shipment once ``done(shipment)`` holds."""

    async def reached() -> dict[str, Any] | None:
        body = (await api.get(f"/v1/shipments/{shipment_id}")).json()
        return body if done(body) else None

    return await wait_for(reached, timeout=timeout, what=f"shipment {shipment_id}: {what}")


async def wait_status(api: httpx.AsyncClient, shipment_id: str, status: str, events: int | None = None) -> Any:
    def done(s: dict[str, Any]) -> bool:
        return s["status"] == status and (events is None or len(s["timeline"]) == events)

    return await wait_shipment(api, shipment_id, done, f"{status} with {events} events")


async def counts(stack: Stack) -> dict[str, int]:
    """Rows a refused request must not add; receipts issued in the background (and their events) are not its."""
    assert stack.db is not None
    async with stack.db.read() as conn:
        found = {
            table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one() for table in COUNTED
        }
        events = select(func.count()).select_from(ot.outbox).where(ot.outbox.c.resource_type.not_in(BACKGROUND_EVENTS))
        found["outbox"] = (await conn.execute(events)).scalar_one()
        return found


async def cursor(stack: Stack) -> int:
    assert stack.db is not None
    async with stack.db.read() as conn:
        found = (await conn.execute(select(st.postal_cursors.c.last_id))).scalar_one_or_none()
    return int(found or 0)


async def outbox_types(stack: Stack, shipment_id: str) -> list[str]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        rows = await conn.execute(
            select(ot.outbox.c.type).where(ot.outbox.c.resource_id == shipment_id).order_by(ot.outbox.c.sequence)
        )
        return list(rows.scalars())
