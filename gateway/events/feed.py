"""The pull feed: a portal's events in a stable order, from a cursor, never skipping one (the order is explained in
``repository``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel import params

from . import repository
from .model import EventOut, cursor_of, envelope


def parse_cursor(value: str | None) -> tuple[int, int]:
    return params.event_cursor(value, "after")


async def page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    after: str | None,
    dossier_code: str | None,
    event_type: str | None,
    limit: int,
) -> tuple[list[EventOut], str | None]:
    """A page of envelopes, and the cursor to pass next (unchanged when nothing new has been written)."""
    events = await repository.feed_page(
        conn, portal_id, start=parse_cursor(after), dossier_code=dossier_code, event_type=event_type, limit=limit
    )
    return [envelope(e) for e in events], (cursor_of(events[-1]) if events else after)
