"""What every command shares: running work against the configured database, and printing JSON."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from gateway.settings import load as load_settings
from gateway.store.db import Database

T = TypeVar("T")


def os_actor() -> str:
    """Who ran the command, for the audit trail: ``cli:`` and the operating system's user name."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def on_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database, then close it."""

    async def go() -> T:
        db = Database.from_url(load_settings().database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str))


def print_rows(rows: list[Any], fields: tuple[str, ...]) -> None:
    """One JSON object per line (times in RFC 3339), so the list reads and greps alike."""
    for row in rows:
        print(json.dumps({f: _plain(getattr(row, f)) for f in fields}, ensure_ascii=False))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
