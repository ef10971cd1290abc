"""A migrated SQLite database, a portal, and the webhook tools delivering to a real receiver on a loopback address
this test's policy counts as private (the portal is given consent to it): everything is real, the portal's
endpoint included."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import SecretBox, WebhookTools, new_key
from gateway.deliveries.addresses import NetworkPolicy
from gateway.deliveries.transport import WebhookHttp
from gateway.settings import Settings, load
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from tests.support import webhook_receiver
from tests.support.stack import RECEIVER_HOST


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((RECEIVER_HOST, 0))
        return int(probe.getsockname()[1])


PORT = _free_port()
URL = f"http://{RECEIVER_HOST}:{PORT}/hooks"  # a private address to this policy: the portal is given consent to it
POLICY = NetworkPolicy(private_networks=(ipaddress.ip_network(f"{RECEIVER_HOST}/32"),))


@dataclass
class Receiver:
    """The portal's endpoint: answers ``status`` and keeps what it got, with whether the signature verified (by
    the receiver's own HMAC code, not the gateway's)."""

    server: webhook_receiver.Receiver = field(default_factory=webhook_receiver.Receiver)
    status: int = 200

    def __post_init__(self) -> None:
        self.server.answer = lambda _delivery: "ok" if self.status == 200 else f"status:{self.status}"

    @property
    def secrets(self) -> list[str]:
        return self.server.secrets

    @secrets.setter
    def secrets(self, value: list[str]) -> None:
        self.server.secrets = value

    @property
    def got(self) -> list[tuple[str, dict[str, Any], bool]]:
        return [(d.headers["gateway-event-id"], d.event, d.verified) for d in self.server.deliveries]

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
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.server.start(PORT)
    try:
        yield found
    finally:
        await found.server.stop()


@pytest.fixture
async def tools(settings: Settings, receiver: Receiver) -> AsyncIterator[WebhookTools]:
    found = WebhookTools(SecretBox.from_settings(settings), WebhookHttp.build(settings, policy=POLICY))
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
