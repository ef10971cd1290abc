from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """A failed test of the whole system shows the end of each of its processes' logs (the worker's above all):
    a wait that timed out says what the processes were doing meanwhile."""
    report = yield
    if report.failed and call.when == "call":
        for stack in _stacks(getattr(item, "funcargs", {}).values()):
            # the worker first: a long report is cut in its middle, and the worker's end is what a wait needs
            for name, process in sorted(stack.processes.items(), key=lambda item: item[0] != "worker"):
                tail = process.log()
                if tail:
                    report.sections.append((f"{stack.backend} {name} log (last 4000 characters)", tail))
    return report


def _stacks(values: Any) -> Iterator[Stack]:
    for value in values:
        if isinstance(value, Stack):
            yield value
        elif isinstance(value, tuple):
            yield from _stacks(value)
