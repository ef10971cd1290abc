"""What a COD run writes, from the engine's lines: its breaks, its totals per agency, the collections it leaves
waiting, its figures, and the earlier breaks its statement settles.

A break's key is ``<code>:<S10 item code>``, or ``cod_batch_mismatch:batch:<batch id>`` for a remittance that does
not add up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postal.statements import CodStatement
from gateway.store.direct import insert_rows
from gateway.store.tables import reconciliation as rt
from reconciliation.engine import BREAKS, LABELS, CodLine, LineClass, OurCollection

from . import findings, runs
from .findings import Found

LEFT_WAITING = (LineClass.COD_AWAITING, LineClass.COD_NOT_REMITTED)
SETTLES = (LineClass.COD_MATCHED, LineClass.COD_AMOUNT_MISMATCH)


@dataclass(frozen=True)
class Written:
    lines: list[CodLine]
    found: list[Found]
    totals: list[dict[str, Any]]
    waiting: list[dict[str, Any]]


def found_of(line: CodLine) -> Found:
    identity = f"batch:{line.batch_id}" if line.code is LineClass.COD_BATCH_MISMATCH else line.item_code
    return Found(
        key=f"{line.code.value}:{identity}",
        code=line.code.value,
        agency=line.agency,
        our_agency=line.agency,  # the statement names no agency: the shipment's is the only one
        reference=line.item_code or line.batch_id,
        our_id=line.shipment_id,
        hub_amount=line.stated_amount,
        our_amount=line.our_amount,
        facts=msgspec.to_builtins(line),
    )


def _totals(
    statement: CodStatement, lines: list[CodLine], ours: list[OurCollection], day: date
) -> list[dict[str, Any]]:
    collected: dict[str, int] = defaultdict(int)
    remitted: dict[str, int] = defaultdict(int)
    for mine in ours:
        if mine.day == day:
            collected[mine.agency] += mine.amount
    fees = {item.item_code: item.fee for item in statement.lines}
    for line in lines:
        if line.code in SETTLES and line.stated_amount is not None:
            remitted[line.agency] += line.stated_amount - fees.get(line.item_code, 0)
    return [
        {"agency_code": agency, "day": day, "cod_collected": collected[agency], "cod_remitted": remitted[agency]}
        for agency in sorted(set(collected) | set(remitted))
    ]


def summarise(statement: CodStatement, lines: list[CodLine], ours: list[OurCollection], day: date) -> Written:
    days = {mine.shipment_id: mine.day for mine in ours}
    waiting = [
        {"our_id": line.shipment_id, "day": days[line.shipment_id], "code": line.code.value}
        for line in lines
        if line.code in LEFT_WAITING
    ]
    found = [found_of(line) for line in lines if line.code in BREAKS]
    return Written(lines, found, _totals(statement, lines, ours, day), waiting)


def figures(written: Written, statement: CodStatement, ours: list[OurCollection]) -> dict[str, Any]:
    classes: dict[str, dict[str, Any]] = {}
    for line in written.lines:
        total = classes.setdefault(
            line.code.value, {"label": LABELS[line.code], "lines": 0, "hub_amount": 0, "our_amount": 0}
        )
        total["lines"] += 1
        total["hub_amount"] += line.stated_amount or 0
        total["our_amount"] += line.our_amount or 0
    return {
        "file_rows": len(statement.lines),
        "our_rows": len(ours),
        "matched": classes.get(LineClass.COD_MATCHED.value, {}).get("lines", 0),
        "breaks": len(written.found),
        "hub_amount": statement.total_cod,
        "hub_fee": statement.total_fee,
        "hub_net": statement.total_remitted,
        "our_amount": sum(mine.amount for mine in ours),
        "classes": dict(sorted(classes.items())),
    }


def writer(written: Written, now: datetime) -> runs.Writer:
    async def write(conn: AsyncConnection, run: runs.Run) -> dict[str, Any]:
        count = await findings.write_breaks(conn, run, written.found, now)
        if written.totals:
            await insert_rows(conn, rt.reconciliation_totals, [{"run_id": run.id, **t} for t in written.totals])
        await runs.write_waiting(conn, run.id, written.waiting)
        carried = await findings.open_carried(conn, run)
        settled = {line.shipment_id for line in written.lines if line.code in SETTLES}
        await findings.settle_later(conn, [row for our_id, row in carried.items() if our_id in settled], run, now)
        return {"breaks": count}

    return write
