"""Keyset pages, newest first: the one way the API lists things. The cursor is the key of the last item of the
previous page (ids and positions sort by creation), so a page never shifts when new rows arrive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement


async def newest_first(
    conn: AsyncConnection, query: Select[Any], key: ColumnElement[Any], after: Any, limit: int
) -> tuple[list[Row[Any]], str | None]:
    """Up to ``limit`` rows older than ``after`` (None: from the newest), and the cursor of the next page."""
    if after is not None:
        query = query.where(key < after)
    rows = (await conn.execute(query.order_by(key.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    return list(rows[:limit]), (str(rows[limit - 1]._mapping[key]) if more else None)
