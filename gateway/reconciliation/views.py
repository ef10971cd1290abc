"""What the read side of reconciliation returns: typed views of runs, breaks and day totals, never database rows.

A run covers the whole file, every agency's lines; a caller limited to some agencies sees only its agencies'
figures (``RunView.totals``, the breaks), and the file-wide counts (``RunView.file``) only with a scope of every
agency.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from gateway.staff import AuditEntry


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """Money per side, summed over agencies (đồng). Settlement runs fill the hub's and our payments' columns, COD
    runs the COD columns."""

    collected: int = 0  # our payments, money received
    refunded: int = 0  # our refunds done
    hub_rows: int = 0
    settled: int = 0  # the hub's SoTien, signed
    hub_fee: int = 0  # PhiGiaoDich
    hub_net: int = 0  # SoTienQuyetToan
    cod_collected: int = 0
    cod_remitted: int = 0
    unexplained: int = 0  # money no line accounts for (the aggregate check)


FIGURES = tuple(Figures.__struct_fields__)


class ClassTotal(msgspec.Struct, frozen=True, kw_only=True):
    """One line class of a run's whole file: how many lines and how much money on each side."""

    code: str
    label: str
    lines: int
    hub_amount: int
    our_amount: int


class FileFigures(msgspec.Struct, frozen=True, kw_only=True):
    """The counts of the whole file, every agency's: only for a scope of every agency."""

    file_bytes: int
    file_rows: int
    our_rows: int
    matched: int
    breaks: int
    hub_amount: int
    hub_fee: int
    hub_net: int
    our_amount: int
    classes: list[ClassTotal]


class BreakCount(msgspec.Struct, frozen=True, kw_only=True):
    """A run's breaks of one class, within the scope: all of them, those not resolved, and the money at stake."""

    code: str
    label: str
    total: int
    unresolved: int
    at_stake: int


class AgencyTotals(msgspec.Struct, frozen=True, kw_only=True):
    agency_code: str
    day: date
    figures: Figures


class RunView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str  # settlement | cod
    day: date
    status: str  # running | completed | failed
    current: bool  # completed and not superseded: the day's figures are this run's
    trigger: str
    started_by: str
    file_sha256: str
    refusal_code: str
    refusal_message: str
    supersedes_id: str | None
    superseded_by_id: str | None
    started_at: datetime
    finished_at: datetime | None
    totals: Figures  # the scope's agencies
    breaks: int  # breaks last seen by this run, within the scope
    file: FileFigures | None  # None unless the scope is every agency


class RunDetail(msgspec.Struct, frozen=True, kw_only=True):
    run: RunView
    agencies: list[AgencyTotals]
    break_classes: list[BreakCount]


class BreakView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    day: date
    key: str
    code: str
    label: str
    agency_code: str  # the agency the line names
    our_agency_code: str  # the agency of our record the line is about ("" when we hold none); another: agency_mismatch
    run_id: str  # the last run that found it
    first_run_id: str
    reference: str
    transaction_id: str
    our_id: str
    hub_amount: int | None
    our_amount: int | None
    at_stake: int
    facts: dict[str, Any]
    status: str  # open | assigned | resolved
    assigned_to: str
    assigned_at: datetime | None
    resolution: str  # manual | hub_query | settled_later | cleared
    resolved_by: str
    resolved_at: datetime | None
    note: str
    version: int
    created_at: datetime
    updated_at: datetime


class BreakDetail(msgspec.Struct, frozen=True, kw_only=True):
    item: BreakView
    history: list[AuditEntry]


class DayTotals(msgspec.Struct, frozen=True, kw_only=True):
    """An agency's day, from the day's current runs, with the breaks of that day not yet resolved."""

    agency_code: str
    day: date
    figures: Figures
    open_breaks: int
    open_amount: int  # money at stake in those breaks


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    agency_code: str
    day: date
    today: DayTotals
    days: list[DayTotals]  # the last ``DASHBOARD_DAYS`` days up to ``day``, oldest first, empty days as zeros
    open_breaks: int  # every break of the agency up to ``day`` not yet resolved
    open_amount: int
