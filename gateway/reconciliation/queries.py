"""The read side of reconciliation: runs, breaks, day totals and the dashboard, every read limited to an
``AgencyScope``. The finance pages and the portal API read through here; nothing else reads these tables.

Lists are keyset pages, newest first, like the rest of the portal API: the cursor is the id of the last item of the
previous page. A break outside the scope is as unknown as none; a break is in the scope of the agency its line names
and of the agency of our record it is about (``figures.visible``), and counts among the open breaks of both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import staff
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.store import pages
from gateway.store.tables.reconciliation import reconciliation_breaks, reconciliation_runs, reconciliation_totals

from . import figures
from .figures import in_scope, visible
from .views import (
    FIGURES,
    AgencyTotals,
    BreakCount,
    BreakDetail,
    BreakView,
    Dashboard,
    DayTotals,
    Figures,
    RunDetail,
    RunView,
)

R, T, B = reconciliation_runs.c, reconciliation_totals.c, reconciliation_breaks.c

KINDS = ("settlement", "cod")
RUN_STATUSES = ("running", "completed", "failed")
BREAK_STATUSES = ("open", "assigned", "resolved")
UNRESOLVED = ("open", "assigned")
MAX_DAYS = 366  # the longest day range one read covers
# The days a reconciliation can be about: anything else is a typing mistake, and day arithmetic near the ends of the
# calendar would fail.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def plausible_day(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY
DASHBOARD_DAYS = 30


def _one_of(value: str | None, allowed: Iterable[str], field: str) -> str | None:
    if value is not None and value not in allowed:
        raise Refused("invalid_request", f"must be one of {', '.join(allowed)}", field=field)
    return value


@dataclass(frozen=True)
class DayRange:
    """Days from ``first`` to ``last``, both included; either end may be open."""

    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        for field, end in (("from", self.first), ("to", self.last)):
            if end is not None and not plausible_day(end):
                raise Refused("invalid_request", f"a day from {FIRST_DAY} to {LAST_DAY}", field=field)
        if self.first and self.last and self.first > self.last:
            raise Refused("invalid_request", "the range ends before it starts", field="to")

    def bounded(self) -> DayRange:
        """Both ends given and at most ``MAX_DAYS`` days apart."""
        if self.first is None or self.last is None:
            raise Refused("invalid_request", "a range needs its first and last day", field="from")
        if (self.last - self.first).days >= MAX_DAYS:
            raise Refused("invalid_request", f"a range covers at most {MAX_DAYS} days", field="to")
        return self

    def where(self, column: Any) -> list[Any]:
        return [c for c in (self.first and column >= self.first, self.last and column <= self.last) if c is not None]


@dataclass(frozen=True)
class RunFilter:
    kind: str | None = None
    status: str | None = None
    days: DayRange = DayRange()

    def __post_init__(self) -> None:
        _one_of(self.kind, KINDS, "kind")
        _one_of(self.status, RUN_STATUSES, "status")


@dataclass(frozen=True)
class BreakFilter:
    status: str | None = None  # open, assigned, resolved; or "unresolved" for open and assigned
    code: str | None = None
    agency: str | None = None
    assigned_to: str | None = None
    kind: str | None = None
    run_id: str | None = None  # the breaks a run found last
    days: DayRange = DayRange()

    def __post_init__(self) -> None:
        _one_of(self.status, (*BREAK_STATUSES, "unresolved"), "status")
        _one_of(self.code, figures.BREAK_CODES, "code")
        _one_of(self.kind, KINDS, "kind")


# -- runs


def _run_visible(scope: AgencyScope) -> Any:
    """A caller limited to some agencies sees the runs holding figures or breaks of theirs, and those holding no
    figures at all (failed, or still running): a run is the whole file's, not an agency's."""
    if scope.codes is None:
        return sa.true()
    theirs = sa.select(T.run_id).where(T.run_id == R.id, in_scope(scope, T.agency_code)).exists()
    their_break = sa.select(B.id).where(B.run_id == R.id, visible(scope, B)).exists()
    anyone = sa.select(T.run_id).where(T.run_id == R.id).exists()
    return sa.or_(theirs, their_break, ~anyone)


async def list_runs(
    conn: AsyncConnection, scope: AgencyScope, where: RunFilter, cursor: str | None, limit: int
) -> tuple[list[RunView], str | None]:
    query = sa.select(reconciliation_runs).where(_run_visible(scope), *where.days.where(R.day))
    if where.kind:
        query = query.where(R.kind == where.kind)
    if where.status:
        query = query.where(R.status == where.status)
    rows, next_cursor = await pages.newest_first(conn, query, R.id, cursor, limit)
    return await _run_views(conn, scope, rows), next_cursor


async def get_run(conn: AsyncConnection, scope: AgencyScope, run_id: str) -> RunDetail:
    row = (await conn.execute(sa.select(reconciliation_runs).where(R.id == run_id, _run_visible(scope)))).one_or_none()
    if row is None:
        raise Refused("not_found")
    (view,) = await _run_views(conn, scope, [row])
    totals = await conn.execute(
        sa.select(reconciliation_totals)
        .where(T.run_id == run_id, in_scope(scope, T.agency_code))
        .order_by(T.agency_code)
    )
    agencies = [
        AgencyTotals(agency_code=t.agency_code, day=t.day, figures=Figures(**{f: t._mapping[f] for f in FIGURES}))
        for t in totals
    ]
    return RunDetail(run=view, agencies=agencies, break_classes=await _break_counts(conn, scope, run_id))


async def _run_views(conn: AsyncConnection, scope: AgencyScope, rows: list[Any]) -> list[RunView]:
    ids = [row.id for row in rows]
    sums = {
        row.run_id: Figures(**{f: int(row._mapping[f]) for f in FIGURES})
        for row in await conn.execute(
            sa.select(T.run_id, *(sa.func.coalesce(sa.func.sum(T[f]), 0).label(f) for f in FIGURES))
            .where(T.run_id.in_(ids), in_scope(scope, T.agency_code))
            .group_by(T.run_id)
        )
    }
    counts = dict(
        (
            await conn.execute(
                sa.select(B.run_id, sa.func.count()).where(B.run_id.in_(ids), visible(scope, B)).group_by(B.run_id)
            )
        ).all()
    )
    return [
        figures.run_view(row, sums.get(row.id, Figures()), int(counts.get(row.id, 0)), scope.codes is None)
        for row in rows
    ]


async def _break_counts(conn: AsyncConnection, scope: AgencyScope, run_id: str) -> list[BreakCount]:
    unresolved = sa.case((B.status.in_(UNRESOLVED), 1), else_=0)
    rows = await conn.execute(
        sa.select(
            B.code,
            sa.func.count().label("total"),
            sa.func.sum(unresolved).label("unresolved"),
            sa.func.sum(figures.at_stake(B)).label("at_stake"),
        )
        .where(B.run_id == run_id, visible(scope, B))
        .group_by(B.code)
        .order_by(B.code)
    )
    return [
        BreakCount(
            code=r.code,
            label=figures.label(r.code),
            total=int(r.total),
            unresolved=int(r.unresolved or 0),
            at_stake=int(r.at_stake or 0),
        )
        for r in rows
    ]


# -- breaks


def _break_query(scope: AgencyScope, where: BreakFilter) -> Any:
    narrowed = scope.narrowed(where.agency)
    query = sa.select(reconciliation_breaks, figures.at_stake(B).label("at_stake")).where(
        visible(narrowed, B), *where.days.where(B.day)
    )
    if where.status == "unresolved":
        query = query.where(B.status.in_(UNRESOLVED))
    elif where.status:
        query = query.where(B.status == where.status)
    for column, value in ((B.code, where.code), (B.kind, where.kind), (B.run_id, where.run_id)):
        if value:
            query = query.where(column == value)
    if where.assigned_to is not None:
        query = query.where(B.assigned_to == where.assigned_to)
    return query


async def list_breaks(
    conn: AsyncConnection, scope: AgencyScope, where: BreakFilter, cursor: str | None, limit: int
) -> tuple[list[BreakView], str | None]:
    rows, next_cursor = await pages.newest_first(conn, _break_query(scope, where), B.id, cursor, limit)
    return [figures.break_view(row, scope) for row in rows], next_cursor


async def stream_breaks(conn: AsyncConnection, scope: AgencyScope, where: BreakFilter) -> Any:
    """Every break the filter finds, newest first, as an async iterator (for exports: nothing held in memory)."""
    result = await conn.stream(_break_query(scope, where).order_by(B.id.desc()))
    async for row in result:
        yield figures.break_view(row, scope)


async def find_break(conn: AsyncConnection, scope: AgencyScope, break_id: str) -> BreakView:
    row = (await conn.execute(_break_query(scope, BreakFilter()).where(B.id == break_id))).one_or_none()
    if row is None:
        raise Refused("not_found")
    return figures.break_view(row, scope)


async def get_break(conn: AsyncConnection, scope: AgencyScope, break_id: str) -> BreakDetail:
    """A break and its audit trail; what the trail recorded of our record only for the record's agency."""
    item = await find_break(conn, scope, break_id)
    history = await staff.history(conn, "break", item.id)
    return BreakDetail(item=item, history=_record_facts_for(scope, history, item.our_agency_code))


def _record_facts_for(scope: AgencyScope, history: list[Any], our_agency_code: str) -> list[Any]:
    """The trail with what it recorded of our record kept only where the caller may read the record it was about
    then: a newer run may have paired the break with another agency's record, so each entry is judged by the agency
    of its own time (walking back from today's, through the entries that changed it), and an entry that changed
    it by both agencies."""
    agency, judged = our_agency_code, []
    for entry in reversed(history):
        before = entry.before if isinstance(entry.before, dict) else {}
        agencies = {agency, str(before.get("our_agency_code", agency))}
        if not all(figures.shows_record(scope, code) for code in agencies):
            entry = msgspec.structs.replace(
                entry, before=figures.without_record(entry.before), after=figures.without_record(entry.after)
            )
        agency = str(before.get("our_agency_code", agency))
        judged.append(entry)
    return judged[::-1]


# -- day totals


def _current_runs() -> Any:
    return sa.select(R.id).where(R.status == "completed", R.superseded_by_id.is_(None))


async def daily_totals(
    conn: AsyncConnection, scope: AgencyScope, days: DayRange, agency: str | None = None
) -> list[DayTotals]:
    """Per agency and day, oldest first: the figures of the day's current runs (settlement and COD) and the day's
    breaks not yet resolved."""
    days = days.bounded()
    narrowed = scope.narrowed(agency)
    sums = await conn.execute(
        sa.select(T.agency_code, T.day, *(sa.func.sum(T[f]).label(f) for f in FIGURES))
        .where(T.run_id.in_(_current_runs()), in_scope(narrowed, T.agency_code), *days.where(T.day))
        .group_by(T.agency_code, T.day)
    )
    found = {(r.agency_code, r.day): Figures(**{f: int(r._mapping[f] or 0) for f in FIGURES}) for r in sums}
    open_ = await conn.execute(_open_per_agency(narrowed, days))
    breaks = {(r.agency, r.day): (int(r.n), int(r.amount or 0)) for r in open_}
    return [
        DayTotals(
            agency_code=code,
            day=day,
            figures=found.get((code, day), Figures()),
            open_breaks=breaks.get((code, day), (0, 0))[0],
            open_amount=breaks.get((code, day), (0, 0))[1],
        )
        for code, day in sorted(found.keys() | breaks.keys(), key=lambda k: (k[1], k[0]))
    ]


def _open_per_agency(scope: AgencyScope, days: DayRange) -> Any:
    """Unresolved breaks per agency and day, a break counted for the agency its line names and, when it is another,
    for the agency of our record."""
    unresolved = (B.status.in_(UNRESOLVED), *days.where(B.day))
    named = sa.select(B.agency_code.label("agency"), B.day, figures.at_stake(B).label("amount")).where(
        *unresolved, in_scope(scope, B.agency_code)
    )
    owner = sa.select(B.our_agency_code.label("agency"), B.day, figures.at_stake(B).label("amount")).where(
        *unresolved, B.our_agency_code != "", B.our_agency_code != B.agency_code, in_scope(scope, B.our_agency_code)
    )
    both = sa.union_all(named, owner).subquery()
    return sa.select(
        both.c.agency, both.c.day, sa.func.count().label("n"), sa.func.sum(both.c.amount).label("amount")
    ).group_by(both.c.agency, both.c.day)


async def dashboard(conn: AsyncConnection, scope: AgencyScope, agency: str, day: date) -> Dashboard:
    """One agency's day and the ``DASHBOARD_DAYS`` days up to it; an agency outside the scope is not found."""
    if not scope.allows(agency):
        raise Refused("not_found")
    first = day - timedelta(days=DASHBOARD_DAYS - 1)
    known = {t.day: t for t in await daily_totals(conn, scope, DayRange(first, day), agency)}
    series = [
        known.get(d) or DayTotals(agency_code=agency, day=d, figures=Figures(), open_breaks=0, open_amount=0)
        for d in (first + timedelta(days=n) for n in range(DASHBOARD_DAYS))
    ]
    row = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.sum(figures.at_stake(B))).where(
                B.status.in_(UNRESOLVED), sa.or_(B.agency_code == agency, B.our_agency_code == agency), B.day <= day
            )
        )
    ).one()
    return Dashboard(
        agency_code=agency,
        day=day,
        today=series[-1],
        days=series,
        open_breaks=int(row[0]),
        open_amount=int(row[1] or 0),
    )
