from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.vntime import now_utc
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from gateway.store.db import Database
from gateway.store.tables import deliveries as dt
from gateway.store.tables import outbox as ot
from tests.support.processes import ROOT
from tests.support.stack import AGENCY, Stack
from tests.support.webhook_receiver import Receiver


@dataclass
class Portal:
    portal_id: str
    api: httpx.AsyncClient


async def new_portal(stack: Stack, name: str = "Cổng thử", *, private: bool = True) -> tuple[str, str]:
    """A portal and its API key; ``private``: an operator allowed it private webhooks (the test receivers)."""
    assert stack.db is not None
    portal_id, api_key = await portals.create_portal(stack.db, f"{name} {secrets.token_hex(3)}", [AGENCY.code])
    if private:
        assert await set_private_webhooks(stack.db, portal_id, True)
    return portal_id, api_key


@pytest.fixture
async def portal(stack: Stack) -> AsyncIterator[Portal]:
    """A portal of its own per test, so one test's webhook never receives another's events."""
    portal_id, api_key = await new_portal(stack)
    async with stack.client(api_key) as api:
        yield Portal(portal_id, api)


@pytest.fixture
async def public_portal(stack: Stack) -> AsyncIterator[Portal]:
    """A portal with the default policy: its webhook may reach public internet addresses only."""
    portal_id, api_key = await new_portal(stack, "Cổng công khai", private=False)
    async with stack.client(api_key) as api:
        yield Portal(portal_id, api)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(12)}


async def point(portal: Portal, receiver: Receiver) -> dict[str, Any]:
    response = await portal.api.put("/v1/webhook", json={"url": receiver.url})
    assert response.status_code in (200, 201), response.text
    body = response.json()
    if body.get("secret"):
        receiver.secrets.append(body["secret"])
    return body  # type: ignore[no-any-return]


async def write_events(db: Database, portal_id: str, count: int, dossiers: int, batch: int = 500) -> list[str]:
    """Events as the areas write them (``uow.event`` in a unit of work), spread over dossiers."""
    ids: list[str] = []
    tag = secrets.token_hex(3)
    for start in range(0, count, batch):
        async with db.unit() as uow:
            for i in range(start, min(count, start + batch)):
                ids.append(
                    await uow.event(
                        portal_id=portal_id,
                        dossier_code=f"HS-{tag}-{i % dossiers:05d}",
                        type="payment.pending",
                        resource_type="payment",
                        resource_id=f"pay_test{i:08d}",
                        payload={"n": i, "status": "pending"},
                        now=now_utc(),
                    )
                )
    return ids


async def states(db: Database, portal_id: str) -> dict[str, int]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(ot.outbox.c.dispatch_state, func.count())
            .where(ot.outbox.c.portal_id == portal_id)
            .group_by(ot.outbox.c.dispatch_state)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def endpoint_count(db: Database) -> int:
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(dt.webhook_endpoints))).scalar_one()  # type: ignore[no-any-return]


def gateway_command(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``gateway`` command as an operator runs it against the stack (its settings, plus ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env={**os.environ, **stack.gateway_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
