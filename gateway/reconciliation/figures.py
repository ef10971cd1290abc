"""From stored rows to views, the one rule of the money a break puts at stake, and the one rule of who sees a break:
staff of the agency its line names and staff of the agency of our record it is about; what we hold on that record
(its id, amount, status, day) only the latter."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gateway.kernel.scope import AgencyScope
from reconciliation.reasons import BREAKS, LABELS, LineClass

from .views import BreakView, ClassTotal, Figures, FileFigures, RunView

BREAK_CODES = tuple(sorted(code.value for code in BREAKS))
# Classes where both sides stated an amount and the difference is what is unexplained; in every other class the
# one side's amount has no counterpart at all.
DIFFERENCES = (
    LineClass.AMOUNT_MISMATCH.value,
    LineClass.COD_AMOUNT_MISMATCH.value,
    LineClass.COD_BATCH_MISMATCH.value,
    LineClass.AGGREGATE_MISMATCH.value,
    LineClass.NET_MISMATCH.value,
)


# What a break tells of our record: facts of the record's agency, withheld from a caller who sees the break only
# because the hub's line names an agency of theirs.
RECORD_FACTS = frozenset(
    {"our_id", "our_amount", "our_status", "our_day", "our_transaction_id", "our_refund_reference", "shipment_id"}
)


def in_scope(scope: AgencyScope, column: Any) -> Any:
    """The SQL condition of the scope on an agency code column."""
    return sa.true() if scope.codes is None else column.in_(sorted(scope.codes))


def visible(scope: AgencyScope, b: Any) -> Any:
    """SQL: the breaks a caller sees: those whose line names an agency of theirs, and those about a record of theirs."""
    if scope.codes is None:
        return sa.true()
    return sa.or_(in_scope(scope, b.agency_code), in_scope(scope, b.our_agency_code))


def shows_record(scope: AgencyScope, our_agency_code: str) -> bool:
    """Whether the caller may read what we hold on the break's record (no record: nothing to withhold)."""
    return not our_agency_code or scope.allows(our_agency_code)


def without_record(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """``state`` (a break's facts, or an audit entry's before or after) without our record's facts."""
    if state is None:
        return None
    kept = {k: v for k, v in state.items() if k not in RECORD_FACTS}
    if isinstance(kept.get("facts"), dict):
        kept["facts"] = without_record(kept["facts"])
    return kept


def label(code: str) -> str:
    """The Vietnamese label of a class code; a code this version does not know shows as itself."""
    try:
        return LABELS[LineClass(code)]
    except ValueError:
        return code


def at_stake(b: Any) -> Any:
    """SQL: the money a break leaves unexplained, positive: the difference where both sides stated an amount
    (mismatches), otherwise the amount of the side that has one."""
    both = sa.and_(b.code.in_(DIFFERENCES), b.hub_amount.is_not(None), b.our_amount.is_not(None))
    return sa.case(
        (both, sa.func.abs(b.hub_amount - b.our_amount)),
        else_=sa.func.abs(sa.func.coalesce(b.hub_amount, b.our_amount, 0)),
    )


def _classes(stored: Any) -> list[ClassTotal]:
    """The run's ``classes`` column: per class code, its lines and amounts (extra members are ignored)."""
    items = stored.items() if isinstance(stored, dict) else []
    return [
        ClassTotal(
            code=code,
            label=label(code),
            lines=int(value.get("lines", 0)),
            hub_amount=int(value.get("hub_amount", 0)),
            our_amount=int(value.get("our_amount", 0)),
        )
        for code, value in sorted(items)
        if isinstance(value, dict)
    ]


def _file(row: Any) -> FileFigures:
    return FileFigures(
        file_bytes=row.file_bytes,
        file_rows=row.file_rows,
        our_rows=row.our_rows,
        matched=row.matched,
        breaks=row.breaks,
        hub_amount=row.hub_amount,
        hub_fee=row.hub_fee,
        hub_net=row.hub_net,
        our_amount=row.our_amount,
        classes=_classes(row.classes),
    )


def _refusal_in_general(code: str) -> str:
    """A refused file's reason for a caller of some agencies only: the full message may quote any agency's row."""
    return f"Tệp bị từ chối (mã lý do: {code})." if code else ""


def run_view(row: Any, totals: Figures, breaks: int, whole_file: bool) -> RunView:
    """A run as shown; who started it, the file's hash and a refusal's details only to a caller of every agency."""
    return RunView(
        id=row.id,
        kind=row.kind,
        day=row.day,
        status=row.status,
        current=row.status == "completed" and row.superseded_by_id is None,
        trigger=row.trigger,
        started_by=row.started_by if whole_file else "",
        file_sha256=row.file_sha256 if whole_file else "",
        refusal_code=row.refusal_code,
        refusal_message=row.refusal_message if whole_file else _refusal_in_general(row.refusal_code),
        supersedes_id=row.supersedes_id,
        superseded_by_id=row.superseded_by_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        totals=totals,
        breaks=breaks,
        file=_file(row) if whole_file else None,
    )


def break_view(row: Any, scope: AgencyScope) -> BreakView:
    """A break as ``scope`` may see it (``visible``): without our record's facts unless the record is theirs."""
    m = row._mapping
    shown = shows_record(scope, m["our_agency_code"])
    facts = dict(m["facts"] or {})
    return BreakView(
        id=m["id"],
        kind=m["kind"],
        day=m["day"],
        key=m["key"],
        code=m["code"],
        label=label(m["code"]),
        agency_code=m["agency_code"],
        our_agency_code=m["our_agency_code"],
        run_id=m["run_id"],
        first_run_id=m["first_run_id"],
        reference=m["reference"],
        transaction_id=m["transaction_id"],
        our_id=m["our_id"] if shown else "",
        hub_amount=m["hub_amount"],
        our_amount=m["our_amount"] if shown else None,
        at_stake=int(m["at_stake"] or 0),
        facts=facts if shown else without_record(facts) or {},
        status=m["status"],
        assigned_to=m["assigned_to"],
        assigned_at=m["assigned_at"],
        resolution=m["resolution"],
        resolved_by=m["resolved_by"],
        resolved_at=m["resolved_at"],
        note=m["note"],
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
