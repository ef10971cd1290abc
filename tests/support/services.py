"""The outside services tests need (PostgreSQL, Redis): found, or failed under CI, or skipped locally."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.store.db import Database
from gateway.store.migrate import upgrade_async

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def missing(what: str) -> None:
    """Under CI a missing service fails the test; on a developer's machine it skips it."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not available (CI requires it)")
    pytest.skip(f"{what} is not available")


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_pg_database() -> str:
    """A fresh database for this test session; returns its SQLAlchemy URL."""
    import asyncpg

    if not reachable(POSTGRES_URL, 5432):
        missing(f"PostgreSQL at {POSTGRES_URL}")
    name = f"gwtest_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(POSTGRES_URL)
    return f"postgresql+asyncpg://{parts.netloc}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def migrated_url(backend: str, folder: Path) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database on ``backend`` ("sqlite" in ``folder``, or "postgres"), dropped after."""
    pg = backend == "postgres"
    url = await create_pg_database() if pg else f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        if pg:
            await drop_pg_database(url)


@contextlib.asynccontextmanager
async def migrated_database(backend: str, folder: Path) -> AsyncIterator[Database]:
    """A fresh, migrated store on ``backend`` (see ``migrated_url``), disposed and dropped after."""
    async with migrated_url(backend, folder) as url:
        database = Database.from_url(url)
        try:
            yield database
        finally:
            await database.dispose()


def require_redis() -> str:
    if not reachable(REDIS_URL, 6379):
        missing(f"Redis at {REDIS_URL}")
    return REDIS_URL


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll an (async or sync) predicate until it returns a truthy value; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
