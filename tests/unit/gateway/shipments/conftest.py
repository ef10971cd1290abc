from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.db import Database
from tests.support.collected_money import migrated_sqlite


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite store for the fast tests of the services."""
    async with migrated_sqlite(tmp_path) as db:
        yield db
