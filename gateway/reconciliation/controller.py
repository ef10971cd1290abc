"""``/v1/reconciliation``: runs, breaks and day totals for the portal's finance systems, limited to the agencies the
portal acts for (a run shows only their figures; another agency's break is as unknown as none)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc, to_vn
from gateway import portals
from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.portal import PortalContext
from gateway.kernel.scope import AgencyScope
from gateway.store.db import Database

from . import queries
from .schemas import BreakOut, BreakPage, RunPage, TotalsOut, break_out
from .views import RunDetail

DEFAULT_DAYS = 30  # the totals' range when the request names none: the last 30 days up to today

First = Annotated[date | None, QueryParameter(name="from", description="the first Vietnam day, YYYY-MM-DD")]
Last = Annotated[date | None, QueryParameter(name="to", description="the last Vietnam day, YYYY-MM-DD")]
Short = Annotated[str | None, QueryParameter(max_length=32)]
Cursor = Annotated[str | None, QueryParameter(max_length=40)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]


async def scope_of(conn: AsyncConnection, portal: PortalContext) -> AgencyScope:
    """The portal's agencies, by the codes reconciliation data is keyed on."""
    return AgencyScope.of([await portals.agency_code(conn, agency_id) for agency_id in sorted(portal.agency_ids)])


class ReconciliationController(PortalApi):
    path = "/v1/reconciliation"
    tags = ("reconciliation",)

    @get("/runs", summary="List reconciliation runs, newest first", responses=problem_responses(400, 401))
    async def list_runs(
        self,
        portal: NamedDependency[PortalContext],
        db: NamedDependency[Database],
        kind: Short = None,
        status: Short = None,
        first: First = None,
        last: Last = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> RunPage:
        where = queries.RunFilter(kind=kind, status=status, days=queries.DayRange(first, last))
        after = params.id_cursor(cursor, "rcn")
        async with db.read() as conn:
            runs, next_cursor = await queries.list_runs(conn, await scope_of(conn, portal), where, after, limit)
        return RunPage(data=runs, next_cursor=next_cursor)

    @get("/runs/{run_id:str}", summary="A run, with its agencies' figures", responses=problem_responses(400, 401, 404))
    async def get_run(
        self, run_id: FromPath[str], portal: NamedDependency[PortalContext], db: NamedDependency[Database]
    ) -> RunDetail:
        async with db.read() as conn:
            return await queries.get_run(conn, await scope_of(conn, portal), params.resource_id(run_id, "rcn"))

    @get("/breaks", summary="List breaks, newest first", responses=problem_responses(400, 401))
    async def list_breaks(
        self,
        portal: NamedDependency[PortalContext],
        db: NamedDependency[Database],
        status: Short = None,
        code: Short = None,
        agency: Short = None,
        kind: Short = None,
        assigned_to: Annotated[str | None, QueryParameter(max_length=64)] = None,
        run_id: Cursor = None,
        first: First = None,
        last: Last = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> BreakPage:
        days = queries.DayRange(first, last)
        run = params.id_cursor(run_id, "rcn", "run_id")
        where = queries.BreakFilter(status, code, agency, assigned_to, kind, run, days)
        after = params.id_cursor(cursor, "brk")
        async with db.read() as conn:
            found, next_cursor = await queries.list_breaks(conn, await scope_of(conn, portal), where, after, limit)
        return BreakPage(data=found, next_cursor=next_cursor)

    @get("/breaks/{break_id:str}", summary="A break and its history", responses=problem_responses(400, 401, 404))
    async def get_break(
        self, break_id: FromPath[str], portal: NamedDependency[PortalContext], db: NamedDependency[Database]
    ) -> BreakOut:
        async with db.read() as conn:
            scope = await scope_of(conn, portal)
            return break_out(await queries.get_break(conn, scope, params.resource_id(break_id, "brk")))

    @get(
        "/totals",
        summary="Day totals per agency, from each day's current runs, with the breaks not yet resolved",
        responses=problem_responses(400, 401),
    )
    async def totals(
        self,
        portal: NamedDependency[PortalContext],
        db: NamedDependency[Database],
        first: First = None,
        last: Last = None,
        agency: Short = None,
    ) -> TotalsOut:
        last = queries.DayRange(first, last or to_vn(now_utc()).date()).last  # both ends checked before any arithmetic
        assert last is not None
        days = queries.DayRange(first or last - timedelta(days=DEFAULT_DAYS - 1), last).bounded()
        async with db.read() as conn:
            found = await queries.daily_totals(conn, await scope_of(conn, portal), days, agency)
        assert days.first is not None and days.last is not None
        return TotalsOut(first_day=days.first, last_day=days.last, data=found)
