"""What every command shares: running work against the configured database, and printing JSON."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from gateway.settings import load as load_settings
from gateway.store.db import Database

T = TypeVar("T")


def os_actor() -> str:
    """Who ran the command, for the audit trail: ``cli:`` and the operating system's user name."""
    # the account the process runs as, not LOGNAME/USER (which getpass reads first and anyone can set)
    try:
        return f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"[:64]
    except KeyError:
        return f"cli:uid-{os.geteuid()}"


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
