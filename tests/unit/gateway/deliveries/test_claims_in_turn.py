"""Claims of due events made at once take turns: a dossier's events leased at one time are leased to one job, so
no two jobs send a dossier's events side by side (event N+1 before N), on PostgreSQL as on SQLite."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select, update

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import WebhookService, WebhookTools, claim
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.tables import outbox as ot
from tests.support.services import migrated_database

from .conftest import URL, write_events

CLAIMS_AT_ONCE = 6
ROUNDS = 12
OUT = ot.outbox.c


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def test_claims_made_at_once_lease_each_dossiers_events_to_one_job(
    store: Database, tools: WebhookTools, settings: Settings
) -> None:
    small = msgspec.structs.replace(settings, delivery_claim_limit=5)  # each claim takes part of the backlog
    portal_id, _ = await portals.create_portal(store, "Cổng thử")
    assert await portals.set_private_webhooks(store, portal_id, True)
    await WebhookService(store, tools, small).configure(portal_id, URL, True)
    for round_ in range(ROUNDS):
        await write_events(store, portal_id, [f"HS-{round_}-{i % 4}" for i in range(24)])
        await asyncio.gather(*(claim(store, small, now_utc()) for _ in range(CLAIMS_AT_ONCE)))
        async with store.transaction() as tx:
            ours = OUT.dossier_code.like(f"HS-{round_}-%")
            query = select(OUT.dossier_code, OUT.sequence, OUT.claim_token).where(ours)
            rows = (await tx.execute(query.order_by(OUT.dossier_code, OUT.sequence))).all()
            await tx.execute(update(ot.outbox).values(dispatch_state="delivered", claim_token=None, claimed_until=None))
        tokens: dict[str, list[str | None]] = defaultdict(list)
        for dossier, _, token in rows:
            tokens[dossier].append(token)
        for dossier, held in tokens.items():
            leased = [token for token in held if token is not None]
            assert len(set(leased)) <= 1, (dossier, held)  # one job's
            assert held[: len(leased)] == leased, (dossier, held)  # from the dossier's first event on
