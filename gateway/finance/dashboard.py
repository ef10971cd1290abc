"""The dashboard's figures for one agency and day: the day's money on each side, the open breaks, and the chart of
the days before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.reconciliation import Dashboard, DayRange, daily_totals, dashboard
from gateway.staff import StaffMember

from .chart import ChartDay, svg


@dataclass(frozen=True)
class Shown:
    agencies: list[str]  # the agencies the member may pick
    agency: str | None
    day: date
    board: Dashboard | None
    chart: Markup | None


async def agencies_of(conn: AsyncConnection, member: StaffMember, day: date) -> list[str]:
    """The account's agencies; for an account of every agency, those with figures or breaks in the last days."""
    if member.agencies:
        return list(member.agencies)
    recent = await daily_totals(conn, member.scope, DayRange(day - timedelta(days=29), day))
    return sorted({row.agency_code for row in recent if row.agency_code})


async def shown(conn: AsyncConnection, member: StaffMember, agency: str | None, day: date) -> Shown:
    agencies = await agencies_of(conn, member, day)
    agency = agency if agency and member.scope.allows(agency) else (agencies[0] if agencies else None)
    if agency is None:
        return Shown(agencies, None, day, None, None)
    if agency not in agencies:
        agencies = sorted({*agencies, agency})
    board = await dashboard(conn, member.scope, agency, day)
    days = [ChartDay(d.day, d.figures.collected, d.figures.settled, d.open_breaks) for d in board.days]
    title = f"Đã thu và đã quyết toán {len(days)} ngày đến {day:%d/%m/%Y}, đơn vị {agency}"
    return Shown(agencies, agency, day, board, svg(days, title))
