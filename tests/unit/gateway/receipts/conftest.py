from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.vntime import now_utc
from gateway.store.db import Database, Limits, create_engine
from gateway.store.migrate import upgrade_async
from receipts import SigningKey, generate_demo
from tests.support.collected_money import migrated_sqlite
from tests.support.services import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly migrated database on each engine."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'receipts.db'}"
        await upgrade_async(url)
        yield url
        return
    url = await create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(create_engine(database_url, Limits(pool_size=25)))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    """A demo agency's signing key, made once."""
    # valid from a day ago: the tests sign at fixed instants (``collected_money.T0``) taken when the suite starts
    since = now_utc() - timedelta(days=1)
    key_pem, cert_pem = generate_demo(
        "Demo ký biên lai", "Ủy ban nhân dân phường Hoàn Kiếm", 365 * 30, not_before=since
    )
    folder = Path(tempfile.mkdtemp(prefix="gwkey-"))
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    return SigningKey.from_pem(folder / "key.pem", folder / "cert.pem")


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite store for the fast tests of the services."""
    async with migrated_sqlite(tmp_path) as db:
        yield db
