"""A migrated SQLite database, a portal, and the webhook tools with a receiver in place of the portal's endpoint
(``httpx.MockTransport``: the endpoint is the portal's, outside the gateway; everything inside is real)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import SecretBox, WebhookTools, new_key, signing
from gateway.deliveries.addresses import NetworkPolicy
from gateway.deliveries.transport import WebhookHttp
from gateway.settings import Settings, load
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async

URL = "http://10.20.30.40:8080/hooks"  # a private address: the portal is given consent to it


@dataclass
class Receiver:
    """The portal's endpoint: answers ``status`` and keeps what it got, with whether the signature verified."""

    secrets: list[str] = field(default_factory=list)
    status: int = 200
    got: list[tuple[str, dict[str, object], bool]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        header = request.headers.get(signing.HEADER, "")
        verified = any(signing.verify(header, body, s, int(time.time())) for s in self.secrets)
        self.got.append((request.headers[signing.EVENT_ID_HEADER], json.loads(body), verified))
        return httpx.Response(self.status, stream=httpx.ByteStream(b"ok"))  # read by the sender, as over a socket

    @property
    def ids(self) -> list[str]:
        return [event_id for event_id, _, _ in self.got]


@pytest.fixture
def settings() -> Settings:
    return load({"PAYHUB_HASH_KEY": "unit", "WEBHOOK_SECRETS_KEY": new_key(), "DELIVERY_BREAKER_THRESHOLD": "2"})


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deliveries.db'}"
    await upgrade_async(url)
    database = Database.from_url(url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def tools(settings: Settings, receiver: Receiver) -> AsyncIterator[WebhookTools]:
    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(receiver))

    found = WebhookTools(SecretBox.from_settings(settings), WebhookHttp(NetworkPolicy(), client(), client()))
    try:
        yield found
    finally:
        await found.aclose()


@pytest.fixture
async def portal_id(db: Database) -> str:
    found, _ = await portals.create_portal(db, "Cổng thử")
    assert await portals.set_private_webhooks(db, found, True)
    return found


async def write_events(db: Database, portal_id: str, dossiers: list[str], at: datetime | None = None) -> list[str]:
    """One event per dossier named, in order, as an area would write them."""
    async with db.unit() as uow:
        return [
            await uow.event(
                portal_id=portal_id,
                dossier_code=code,
                type="payment.paid",
                resource_type="payment",
                resource_id=f"pay_{i}",
                payload={"n": i},
                now=at or now_utc(),
            )
            for i, code in enumerate(dossiers)
        ]
