"""Migrations run on both engines and produce exactly the schema the code declares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
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


def _row(table: sa.Table, **given: object) -> dict[str, object]:
    """``given``, and a plain value for every other column the table requires."""
    row: dict[str, object] = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        kind = column.type.python_type if not isinstance(column.type, sa.JSON) else dict
        plain: dict[type, object] = {str: "x", int: 1, bool: False, dict: {}, date: date(2026, 11, 30)}
        row[column.name] = plain.get(kind, datetime(2026, 11, 30, tzinfo=UTC))
    return row


async def test_breaks_recorded_before_their_record_s_agency_was_kept_get_it(database_url: str) -> None:
    await upgrade_async(database_url, "0009")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            meta = sa.MetaData()
            await conn.run_sync(meta.reflect)
            t = meta.tables
            for n, code in ((1, "000.00.01.H26"), (2, "000.00.02.H26")):
                await conn.execute(t["agencies"].insert().values(_row(t["agencies"], id=f"agy_{n}", code=code)))
            await conn.execute(t["portals"].insert().values(_row(t["portals"], id="ptl_1")))
            await conn.execute(
                t["payments"].insert().values(
                    _row(t["payments"], id="pay_1", portal_id="ptl_1", agency_id="agy_2", reference="PG1")
                )
            )
            await conn.execute(t["reconciliation_runs"].insert().values(_row(t["reconciliation_runs"], id="rcr_1")))
            for n, our_id in ((1, "pay_1"), (2, ""), (3, "pay_gone")):
                values = _row(
                    t["reconciliation_breaks"], id=f"rcb_{n}", run_id="rcr_1", key=f"k{n}", agency_code="000.00.01.H26"
                )
                await conn.execute(t["reconciliation_breaks"].insert().values({**values, "our_id": our_id}))
    finally:
        await engine.dispose()
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = dict((await conn.execute(sa.text("SELECT id, our_agency_code FROM reconciliation_breaks"))).all())
    finally:
        await engine.dispose()
    assert found == {"rcb_1": "000.00.02.H26", "rcb_2": "", "rcb_3": ""}
