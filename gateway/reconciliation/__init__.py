"""Reconciliation on the gateway: each day's settlement file and COD statement matched against what the gateway
recorded (runs), every difference a break with its lifecycle, and the read side the finance pages and the portal
API use (``queries``: every read limited to an ``AgencyScope``).

Public surface: the read side's queries, filters and views; a break's changes by staff (``assign_break``,
``unassign_break``, ``resolve_break``, ``reopen_break``, each with the version read) and by the worker
(``resolve_as_system``); the breaks assigned to a staff account, taken back when a change of the account's access
means it may no longer work them (``AssignedBreaks``, the staff area's ``AssignedWork``); exports of a run, the
breaks and the day totals as CSV or XLSX (``write_run``, ``write_breaks``, ``write_totals``); the runs themselves: a
day's settlement file or COD statement reconciled and recorded (``SettlementRuns``, ``CodRuns``, the ``Run`` they
record, the ``Phase``s a run reports, and the hook a completed run calls, ``OnCompleted``)."""

from .breaks import Staffer, resolve_as_system
from .breaks import assign as assign_break
from .breaks import reopen as reopen_break
from .breaks import resolve as resolve_break
from .breaks import unassign as unassign_break
from .cod import CodRuns
from .exports import FORMATS as EXPORT_FORMATS
from .exports import filename as export_filename
from .exports import write_breaks, write_run, write_totals
from .findings import AssignedBreaks
from .lifecycle import RESOLUTION_LABELS, STATUS_LABELS
from .pipeline import PHASES, OnCompleted, Phase
from .queries import (
    BREAK_STATUSES,
    DASHBOARD_DAYS,
    KINDS,
    RUN_STATUSES,
    BreakFilter,
    DayRange,
    RunFilter,
    daily_totals,
    dashboard,
    find_break,
    get_break,
    get_run,
    list_breaks,
    list_runs,
    plausible_day,
    stream_breaks,
)
from .runs import Kind, Recorded, Run, RunStatus, Trigger
from .settlement import SettlementRuns
from .views import (
    AgencyTotals,
    BreakCount,
    BreakDetail,
    BreakView,
    ClassTotal,
    Dashboard,
    DayTotals,
    Figures,
    FileFigures,
    RunDetail,
    RunView,
)

__all__ = [
    "BREAK_STATUSES",
    "DASHBOARD_DAYS",
    "EXPORT_FORMATS",
    "KINDS",
    "PHASES",
    "RESOLUTION_LABELS",
    "RUN_STATUSES",
    "STATUS_LABELS",
    "AgencyTotals",
    "AssignedBreaks",
    "BreakCount",
    "BreakDetail",
    "BreakFilter",
    "BreakView",
    "ClassTotal",
    "CodRuns",
    "Dashboard",
    "DayRange",
    "DayTotals",
    "Figures",
    "FileFigures",
    "Kind",
    "OnCompleted",
    "Phase",
    "Recorded",
    "Run",
    "RunDetail",
    "RunFilter",
    "RunStatus",
    "RunView",
    "SettlementRuns",
    "Staffer",
    "Trigger",
    "assign_break",
    "daily_totals",
    "dashboard",
    "export_filename",
    "find_break",
    "get_break",
    "get_run",
    "list_breaks",
    "list_runs",
    "plausible_day",
    "reopen_break",
    "resolve_as_system",
    "resolve_break",
    "stream_breaks",
    "unassign_break",
    "write_breaks",
    "write_run",
    "write_totals",
]
