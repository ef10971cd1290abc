from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.services import create_pg_database, drop_pg_database, require_redis
from tests.support.stack import Stack

os.environ.setdefault("PAYHUB_HASH_KEY", "unit-test-key")


@pytest.fixture(scope="session")
def workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="gwtest-"))
    return path


async def _database(backend: str, workdir: Path) -> str:
    if backend == "postgres":
        return await create_pg_database()
    return f"sqlite+aiosqlite:///{workdir / f'gateway-{os.getpid()}.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def stack(request: pytest.FixtureRequest, workdir: Path) -> AsyncIterator[Stack]:
    """The whole system on one database engine: both engines run every test that takes this fixture."""
    redis_url = require_redis()
    url = await _database(request.param, workdir)
    stack = Stack(backend=request.param, database_url=url, redis_url=redis_url, workdir=workdir)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
        if request.param == "postgres":
            await drop_pg_database(url)
