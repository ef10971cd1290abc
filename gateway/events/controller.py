"""``GET /v1/events``: the feed, for portals that prefer to pull (the same events the webhooks carry)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database

from . import feed
from .model import EventOut


class EventPage(msgspec.Struct):
    data: list[EventOut]
    next_cursor: str | None  # pass as ``after`` next time; unchanged when nothing new has been written


class EventFeedController(PortalApi):
    path = "/v1/events"
    tags = ("events",)

    @get("/", summary="Read the portal's events in order, after a cursor", responses=problem_responses(400, 401))
    async def list_events(
        self,
        portal: NamedDependency[PortalContext],
        db: NamedDependency[Database],
        after: Annotated[str | None, QueryParameter(max_length=40, description="next_cursor of the last page")] = None,
        dossier_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        type: Annotated[str | None, QueryParameter(max_length=48, description="e.g. payment.paid")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> EventPage:
        async with db.single_read() as conn:  # one statement: its own snapshot
            data, next_cursor = await feed.page(
                conn, portal.portal_id, after=after, dossier_code=dossier_code, event_type=type, limit=limit
            )
        return EventPage(data=data, next_cursor=next_cursor)
