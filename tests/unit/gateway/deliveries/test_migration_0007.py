"""Migration 0007 on both engines: portals start without private webhooks, and the raw connection errors older
versions wrote into the delivery log become the fixed answers the portal reads now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_async
from tests.support.services import create_pg_database, drop_pg_database

RAW = {
    "ConnectError: All connection attempts failed": "could not connect",
    "ConnectTimeout": "could not connect",
    "RemoteProtocolError: Server disconnected without sending a response.": "no valid HTTP answer",
    "ReadError": "no valid HTTP answer",
    "HTTP 503": "HTTP 503",
    "no complete answer within 10 s": "no complete answer within 10 s",
    "": "",
}


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def test_raw_errors_are_replaced_and_portals_are_public_only(database_url: str) -> None:
    await upgrade_async(database_url, "0004")
    engine = create_engine(database_url)
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO portals (id, name, created_at) VALUES ('ptl_1', 'Cổng', :now)"), {"now": now}
            )
            for n, error in enumerate(RAW):
                await conn.execute(
                    text(
                        "INSERT INTO delivery_attempts (portal_id, event_id, attempt, url, outcome, latency_ms,"
                        " error, attempted_at) VALUES ('ptl_1', :event, 1, 'http://x', 'failed', 1, :error, :now)"
                    ),
                    {"event": f"evt_{n}", "error": error, "now": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id,"
                        " payload, created_at, last_error) VALUES (:event, 'ptl_1', 'HS', :n, 'payment.paid',"
                        " 'payment', 'pay_1', '{}', :now, :error)"
                    ),
                    {"event": f"evt_{n}", "n": n + 1, "error": error, "now": now},
                )
        await upgrade_async(database_url)
        async with engine.connect() as conn:
            attempts = dict((await conn.execute(text("SELECT event_id, error FROM delivery_attempts"))).all())
            events = dict((await conn.execute(text("SELECT id, last_error FROM outbox"))).all())
            flag = (await conn.execute(text("SELECT allow_private_webhooks FROM portals"))).scalar_one()
    finally:
        await engine.dispose()
    expected = {f"evt_{n}": answer for n, answer in enumerate(RAW.values())}
    assert attempts == expected and events == expected
    assert flag in (False, 0)
