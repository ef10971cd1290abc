"""What a settlement run writes, from the engine's outcome: its breaks (with their keys across runs), its totals per
agency, the records it leaves waiting, its figures, and the earlier breaks its file settles.

A break's key is ``<code>:<identity>``: our record's id for our side's classes (missing at the hub), the hub's
transaction id for the hub's (``#<line>`` for a duplicate row), ``agency:<code>`` for an agency's totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec
import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.payhub.settlement import VerifiedFile
from gateway.store.direct import insert_rows
from gateway.store.tables import reconciliation as rt
from reconciliation.engine import MONEY_MOVED, Break, LineClass, SettlementOutcome
from reconciliation.reasons import LABELS, SETTLED, WAITING

from . import findings, runs
from .findings import Found

MOVED = [status.value for status in MONEY_MOVED]
LEFT_WAITING = [LineClass.AWAITING_HUB.value, LineClass.MISSING_AT_HUB.value]
PAID = [LineClass.MATCHED.value, LineClass.LATE_SETTLEMENT.value]  # a row that settled a payment of ours
MISSING_IN_OURS = LineClass.MISSING_IN_OURS.value
SETTLED_AGAIN = LineClass.SETTLED_AGAIN


@dataclass(frozen=True)
class Written:
    outcome: SettlementOutcome
    found: list[Found]
    totals: list[dict[str, Any]]
    waiting: list[dict[str, Any]]
    again: list[Found] = field(default_factory=list)  # rows settling again what an earlier day's file settled


def identity(b: Break) -> str:
    if b.code is LineClass.MISSING_AT_HUB:
        return b.our_id or ""
    if b.code is LineClass.AGGREGATE_MISMATCH:
        return f"agency:{b.agency}"
    if b.code is LineClass.DUPLICATE:
        return f"{b.transaction_id}#{b.line}"
    return b.transaction_id or b.our_id or b.reference or ""


def found_of(b: Break) -> Found:
    return Found(
        key=f"{b.code.value}:{identity(b)}",
        code=b.code.value,
        agency=b.agency or b.our_agency or "",
        our_agency=b.our_agency or "",
        reference=b.reference or "",
        transaction_id=b.transaction_id or "",
        our_id=b.our_id or "",
        hub_amount=b.hub_amount,
        our_amount=b.our_amount,
        facts=msgspec.to_builtins(b),
    )


def _totals(outcome: SettlementOutcome, ours: pl.LazyFrame, day: date) -> list[dict[str, Any]]:
    """Per agency: what we collected and refunded on the day, and what the hub settled."""
    amount = pl.col("amount")
    mine = (
        ours.filter(pl.col("status").is_in(MOVED) & (pl.col("day") == day))
        .group_by("agency")
        .agg(
            collected=amount.filter(pl.col("kind") == "payment").sum(),
            refunded=amount.filter(pl.col("kind") == "refund").sum(),
        )
        .collect(engine="streaming")  # our records of the day may be millions: never all in memory at once
    )
    rows: dict[str, dict[str, Any]] = {
        r["agency"]: {
            "agency_code": r["agency"],
            "day": day,
            "collected": r["collected"] or 0,
            "refunded": r["refunded"] or 0,
        }
        for r in mine.iter_rows(named=True)
    }
    for a in outcome.agencies:  # an agency the file names with no money of ours that day has a row all the same
        row = rows.setdefault(a.agency, {"agency_code": a.agency, "day": day, "collected": 0, "refunded": 0})
        row.update(
            hub_rows=a.hub_rows, settled=a.hub_amount, hub_fee=a.hub_fee, hub_net=a.hub_net, unexplained=a.unexplained
        )
    return sorted(rows.values(), key=lambda r: r["agency_code"])


def summarise(outcome: SettlementOutcome, ours: pl.LazyFrame, day: date) -> Written:
    waiting = (
        outcome.scan_lines()
        .filter(pl.col("class").is_in(LEFT_WAITING))
        .select("our_id", day=pl.col("our_day"), code=pl.col("class"))
        .unique("our_id")
        .collect()
    )
    found = [found_of(b) for b in outcome.breaks()]
    return Written(outcome, found, _totals(outcome, ours, day), waiting.to_dicts())


def figures(written: Written, verified: VerifiedFile, our_rows: int) -> dict[str, Any]:
    classes = written.outcome.classes
    agencies = written.outcome.agencies
    return {
        "file_rows": verified.rows,
        "our_rows": our_rows,
        "matched": sum(total.lines for code, total in classes.items() if code in SETTLED),
        "breaks": len(written.found),
        "hub_amount": sum(a.hub_amount for a in agencies),
        "hub_fee": sum(a.hub_fee for a in agencies),
        "hub_net": sum(a.hub_net for a in agencies),
        "our_amount": sum(a.our_amount for a in agencies),
        "classes": moved_classes(
            {
                code.value: {
                    "label": t.label,
                    "lines": t.lines,
                    "hub_amount": t.hub_amount,
                    "hub_fee": t.hub_fee,
                    "hub_net": t.hub_net,
                    "our_amount": t.our_amount,
                    "waiting": code in WAITING,
                }
                for code, t in sorted(classes.items())
            },
            written.again,
        ),
    }


def moved_classes(classes: dict[str, dict[str, Any]], again: list[Found]) -> dict[str, dict[str, Any]]:
    """A run's figures per class, with the rows made ``settled_again`` counted there instead of ``missing_in_ours``."""
    if not again:
        return classes
    moved = {name: dict(value) for name, value in classes.items()}
    source = moved[MISSING_IN_OURS]
    target = moved.setdefault(
        SETTLED_AGAIN.value,
        {"label": LABELS[SETTLED_AGAIN], "lines": 0, "hub_amount": 0, "hub_fee": 0, "hub_net": 0, "our_amount": 0,
         "waiting": False},
    )  # fmt: skip
    for f in again:
        for name, value in (
            ("lines", 1),
            ("hub_amount", f.hub_amount or 0),
            ("hub_fee", f.facts.get("hub_fee") or 0),
            ("hub_net", f.facts.get("hub_net") or 0),
        ):
            source[name] -= value
            target[name] += value
    if not source["lines"]:
        del moved[MISSING_IN_OURS]
    return dict(sorted(moved.items()))


def settled_payments(outcome: SettlementOutcome) -> pl.LazyFrame:
    """The file's rows that settled a payment of ours: matched to it, on its day (when the match kept those) or
    late."""
    paid = pl.col("class").is_in(PAID) & (pl.col("kind") == "payment") & pl.col("our_id").is_not_null()
    return outcome.scan_lines().filter(paid)


def _settled_ids(outcome: SettlementOutcome, candidates: list[str]) -> list[str]:
    """Of ``candidates`` (our ids), those a hub row of this file settled: a row naming another agency than the
    record's (an agency mismatch, a break of its own) settles nothing."""
    paired = pl.col("line").is_not_null() & pl.col("our_id").is_in(candidates)
    lines = outcome.scan_lines().filter(paired & (pl.col("class") != LineClass.AGENCY_MISMATCH.value))
    return lines.select("our_id").unique().collect()["our_id"].to_list()


def writer(written: Written, now: datetime) -> runs.Writer:
    async def write(conn: AsyncConnection, run: runs.Run) -> dict[str, Any]:
        count = await findings.write_breaks(conn, run, written.found, now)
        if written.totals:
            await insert_rows(conn, rt.reconciliation_totals, [{"run_id": run.id, **t} for t in written.totals])
        await runs.write_waiting(conn, run.id, written.waiting)
        carried = await findings.open_carried(conn, run)
        if carried:
            settled = _settled_ids(written.outcome, sorted(carried))
            await findings.settle_later(conn, [carried[our_id] for our_id in settled], run, now)
        return {"breaks": count}

    return write
