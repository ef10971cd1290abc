from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from tests.support.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A freshly migrated database on each engine."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"
    else:
        url = await create_pg_database()
    await upgrade_async(url)
    database = Database.from_url(url)
    try:
        yield database
    finally:
        await database.dispose()
        if request.param == "postgres":
            await drop_pg_database(url)
