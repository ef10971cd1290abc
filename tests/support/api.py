"""Helpers for tests that drive the portal API and the hub sandbox."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from adapters.payhub import checksum
from adapters.payhub.sandbox.settlement import settlement_day
from gateway.store.tables import idempotency as it
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from tests.support.services import wait_for
from tests.support.stack import HASH_KEY, Stack, payment_body

COUNTED = (pt.payments, pt.payment_lines, pt.refunds, pt.ledger_entries, it.idempotency_keys)
# Receipts are issued in the background for payments paid by earlier tests: their events are not the request's.
BACKGROUND_EVENTS = ("receipt",)


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(12)}


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(**overrides), headers=key())
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_status(api: httpx.AsyncClient, payment_id: str, status: str, timeout: float = 45) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body = (await api.get(f"/v1/payments/{payment_id}")).json()
        return body if body["status"] == status else None

    return await wait_for(reached, timeout=timeout, what=f"payment {payment_id} {status}")  # type: ignore[no-any-return]


async def hub_paid_day(hub: httpx.AsyncClient, reference: str) -> date:
    """The day whose settlement file lists the hub's payment of ``reference`` (its Vietnam day, or the next for
    the last seconds before midnight), whatever the clock says by the time the test asks: a test that takes
    "today" from the clock fails across Vietnam's midnight."""
    order = (await hub.get(f"/control/payments/{reference}")).raise_for_status().json()
    return settlement_day(datetime.fromisoformat(order["paid_at"]))


async def pay(hub: httpx.AsyncClient, reference: str, result: str = "00") -> dict[str, Any]:
    response = await hub.post(f"/control/payments/{reference}/pay", json={"result": result})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def counts(stack: Stack) -> dict[str, int]:
    """Rows in the tables a refused request must not touch, and events other than background ones."""
    assert stack.db is not None
    async with stack.db.read() as conn:
        found = {
            table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one() for table in COUNTED
        }
        events = select(func.count()).select_from(ot.outbox).where(ot.outbox.c.resource_type.not_in(BACKGROUND_EVENTS))
        found["outbox"] = (await conn.execute(events)).scalar_one()
        return found


async def rows(stack: Stack, table: Any, *where: Any) -> list[Any]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        return list((await conn.execute(select(table).where(*where))).all())


def return_params(reference: str, code: str = "00", key: str = HASH_KEY) -> dict[str, str]:
    """The query of the hub's browser return for ``reference``, signed with ``key``."""
    params = {
        "MaLoi": code,
        "MaThamChieu": reference,
        "MaGiaoDich": "HUB-X",
        "SoTien": "150000",
        "ThoiGianGD": "20261122083512",
    }
    params["MaXacThuc"] = checksum.sign("return", params, key)
    return params
