"""The portal API's reconciliation messages: pages of runs and breaks, a break with its history, the day totals.

A break's history is the audit trail's entries for it, without where staff signed in from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from gateway.staff import AuditEntry

from .views import BreakDetail, BreakView, DayTotals, RunView


class RunPage(msgspec.Struct, kw_only=True):
    data: list[RunView]
    next_cursor: str | None


class BreakPage(msgspec.Struct, kw_only=True):
    data: list[BreakView]
    next_cursor: str | None


class HistoryEntry(msgspec.Struct, kw_only=True):
    at: datetime
    actor: str  # a staff username, or "system"
    # break.assigned, break.unassigned, break.resolved, break.reopened; the system's break.cleared,
    # break.settled_later and break.facts_changed (a newer run or the automatic resolution changed its facts), and
    # break.assignee_dropped (the account it was assigned to may no longer work it: back to open, unassigned) and
    # break.not_found_again (a republished file no longer has a break that only staff resolve: left as it is)
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


class BreakOut(msgspec.Struct, kw_only=True):
    item: BreakView
    history: list[HistoryEntry]


class TotalsOut(msgspec.Struct, kw_only=True):
    first_day: date
    last_day: date
    data: list[DayTotals]


def _entry(entry: AuditEntry) -> HistoryEntry:
    return HistoryEntry(
        at=entry.at, actor=entry.actor, action=entry.action, before=entry.before, after=entry.after, note=entry.note
    )


def break_out(detail: BreakDetail) -> BreakOut:
    return BreakOut(item=detail.item, history=[_entry(e) for e in detail.history])
