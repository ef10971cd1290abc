"""Migrations run on both engines and produce exactly the schema the code declares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.store.db import create_engine
from gateway.store.migrate import upgrade_async
from gateway.store.schema import metadata
from tests.support.services import create_pg_database, drop_pg_database


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


async def test_the_migrated_schema_matches_the_tables(database_url: str) -> None:
    await upgrade_async(database_url)
    await upgrade_async(database_url)  # running again is a no-op
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await engine.dispose()
    assert diff == [], f"the migrations and gateway/store/tables.py disagree: {diff}"
