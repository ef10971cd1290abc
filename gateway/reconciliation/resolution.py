"""Automatic resolution, through the existing paths only: a settlement run's breaks where the hub settled a payment
of ours that we do not hold as collected (``status_mismatch``, ``missing_in_ours``) are asked about at the hub, and
its answer is applied through ``HubResults``, the callback's own code path, which records the payment as paid,
issues its receipt and pushes its status to the dossier. When the payment is then collected with the amount the hub
settled, the break is resolved (``hub_query``, actor ``system``) with a note stating the hub's answer.

Nothing else is adjusted: an amount that differs stays a break for staff (``HubResults`` refuses it as well). Nor is
a break whose reference names a payment of another agency than the hub's line names: the hub's line is not taken as
that agency's word. The break stays open, is shown to the payment's agency as well (its ``our_agency_code``, a change
of its facts with its audit entry), and nothing is asked. Nor is a ``missing_in_ours`` row of a payment we already
held as collected that an earlier day's file settled (``settled_again``: the run records such a row as a break of
that kind; one it could not tell apart, such as a row recorded before the earlier day's run, is left open here): the
hub would answer "paid" and hide a double settlement. No other kind of break is asked about: an agency mismatch, a
duplicate or a row settled again are for staff alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.payhub import HubRejected, HubResult, HubUnavailable, Outcome, OutcomeUnknown, PayhubClient
from adapters.vntime import VN_TZ
from gateway.payments import HubResults, payment_by_reference
from gateway.store.tables.reconciliation import reconciliation_breaks
from reconciliation.reasons import LineClass

from . import findings, lifecycle, settled_again
from .breaks import resolve_as_system

log = logging.getLogger("gateway.reconciliation")

B = reconciliation_breaks.c
ASKED_ABOUT = (LineClass.STATUS_MISMATCH.value, LineClass.MISSING_IN_OURS.value)
COLLECTED = ("paid", "partially_refunded", "refunded")  # the payment's money was received
LOOKBACK_DAYS = 31  # the settings' reconciliation_lookback_days by default


@dataclass
class ResolutionReport:
    candidates: int = 0
    not_ours: int = 0
    other_agency: int = 0  # the reference is a payment of another agency than the line names: left to staff
    settled_before: int = 0  # a payment already collected that an earlier day's file settled: left to staff
    asked: int = 0
    resolved: int = 0
    left_open: int = 0
    unreachable: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    break_id: str
    reference: str
    settled: int | None  # the amount the hub settled
    agency: str  # the agency the hub's line names
    code: str
    day: date


async def _candidates(results: HubResults, run_id: str) -> list[_Candidate]:
    query = sa.select(B.id, B.reference, B.hub_amount, B.agency_code, B.code, B.day).where(
        B.run_id == run_id,
        B.kind == "settlement",
        B.code.in_(ASKED_ABOUT),
        B.status.in_((lifecycle.OPEN, lifecycle.ASSIGNED)),
        B.reference != "",
    )
    async with results.db.read() as conn:
        rows = (await conn.execute(query.order_by(B.id))).all()
    return [_Candidate(r.id, r.reference, r.hub_amount, r.agency_code, r.code, r.day) for r in rows]


def answer_note(result: HubResult, payment_id: str) -> str:
    """What the hub said, in the break's note."""
    amount = "?" if result.amount is None else f"{result.amount:,}".replace(",", ".")
    return (
        f"Cổng thanh toán trả lời truy vấn: {result.outcome.value} (mã {result.raw_code or '-'}), số tiền {amount} "
        f"đồng, mã giao dịch {result.transaction_id or '-'}. Thanh toán {payment_id} đã ghi nhận là đã thu."
    )


async def resolve_run(
    results: HubResults, hub: PayhubClient, run_id: str, now: datetime, lookback_days: int = LOOKBACK_DAYS
) -> ResolutionReport:
    """Ask the hub about each candidate break of the run and apply its answers; one break's failure is reported,
    never stops the others."""
    report = ResolutionReport()
    for candidate in await _candidates(results, run_id):
        report.candidates += 1
        try:
            await _resolve_one(results, hub, candidate, now, report, lookback_days)
        except (HubUnavailable, OutcomeUnknown, HubRejected) as exc:
            report.unreachable += 1
            report.errors.append(f"{candidate.reference}: {exc}")
    log.info("breaks resolved by the hub's answers", extra={"run_id": run_id, **vars(report)})
    return report


async def _resolve_one(
    results: HubResults,
    hub: PayhubClient,
    candidate: _Candidate,
    now: datetime,
    report: ResolutionReport,
    lookback_days: int,
) -> None:
    async with results.db.read() as conn:
        ours = await payment_by_reference(conn, candidate.reference)
        earlier = ours is not None and await _settled_before(conn, candidate, ours, lookback_days)
    if ours is None:
        report.not_ours += 1
        return
    if ours.agency_code != candidate.agency:
        await _show_to_payment_agency(results, candidate, ours.agency_code, now)
        report.other_agency += 1
        return
    if earlier:
        report.settled_before += 1
        return
    report.asked += 1
    result = await hub.query(candidate.reference)
    await results.apply(result, now)
    async with results.db.transaction() as conn:
        payment: Any = await payment_by_reference(conn, candidate.reference)
        settled = (
            result.outcome is Outcome.PAID
            and payment.status in COLLECTED
            and payment.paid_amount == candidate.settled
            and result.amount == candidate.settled
            # asked again in the resolving transaction: an earlier day's run may have committed since
            and not await _settled_before(conn, candidate, payment, lookback_days)
        )
        if settled and await resolve_as_system(
            conn, candidate.break_id, lifecycle.HUB_QUERY, answer_note(result, payment.id), now
        ):
            report.resolved += 1
            return
    report.left_open += 1


async def _settled_before(conn: AsyncConnection, candidate: _Candidate, ours: Any, lookback_days: int) -> bool:
    """Whether the row settles again a payment we held as collected before asking, that an earlier day's file
    settled."""
    if candidate.code != LineClass.MISSING_IN_OURS.value or ours.status not in COLLECTED or ours.paid_at is None:
        return False
    moved = ours.paid_at.astimezone(VN_TZ).date()
    if moved >= candidate.day:
        return False
    return bool(await settled_again.earlier_settlements(conn, {ours.id: moved}, candidate.day, lookback_days))


def other_agency_note(agency_code: str) -> str:
    return (
        f"Mã tham chiếu là của một khoản thanh toán của đơn vị {agency_code}, không phải đơn vị ghi trên dòng của Cổng "
        "thanh toán: sai lệch được hiển thị cho cả hai đơn vị và không được tự động giải quyết."
    )


async def _show_to_payment_agency(results: HubResults, candidate: _Candidate, agency_code: str, now: datetime) -> None:
    """The break belongs to the payment's agency too: its staff see it, with a system audit entry."""
    async with results.db.transaction() as conn:
        row = await findings.locked_break(conn, candidate.break_id)
        if row is not None and row["status"] != lifecycle.RESOLVED:
            note = other_agency_note(agency_code)
            await findings.change_facts(conn, row, {"our_agency_code": agency_code}, now, note)
