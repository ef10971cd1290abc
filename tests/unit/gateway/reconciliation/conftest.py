from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from tests.support.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A freshly migrated store on each engine."""
    pg = request.param == "postgres"
    url = await create_pg_database() if pg else f"sqlite+aiosqlite:///{tmp_path / 'reconciliation.db'}"
    await upgrade_async(url)
    database = Database.from_url(url)
    try:
        yield database
    finally:
        await database.dispose()
        if pg:
            await drop_pg_database(url)
