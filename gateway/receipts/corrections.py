"""A wrong receipt is never edited: it is cancelled with a reason, or replaced by a new receipt that refers to it
(TTBLLQuan, TCBLai 1) while the original is marked cancelled, in one transaction with the events that say so.
A receipt whose payment was refunded in full is cancelled the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.errors import Problem
from gateway.ids import new_id
from gateway.payments.schemas import KIND_CODES
from gateway.payments.state import Status
from gateway.settings import Settings
from gateway.store import outbox
from gateway.store import tables as t
from gateway.store.db import Database
from gateway.store.receipt_tables import receipts
from receipts import Line, Payer, ReceiptError, Related, RelatedKind

from . import numbering, views
from .issuance import CannotIssue, new_lookup_code, prepare, store
from .keys import AgencyKeys
from .schemas import ReplaceReceipt
from .sources import PAYMENT

R = receipts.c
REFUNDED_REASON = "Khoản thu đã được hoàn trả toàn bộ"


async def _announce(tx: AsyncConnection, row: Row[Any], event_type: str, now: datetime) -> None:
    await outbox.record(
        tx,
        portal_id=row.portal_id,
        dossier_code=row.dossier_code,
        type=event_type,
        resource_type="receipt",
        resource_id=row.id,
        payload=views.payload(row),
        now=now,
    )


def _refuse_if_cancelled(row: Row[Any]) -> None:
    if row.status != views.ISSUED:
        by = f"; replaced by {row.replaced_by_id}" if row.replaced_by_id else ""
        raise Problem(409, "receipt_cancelled", f"the receipt was cancelled ({row.cancel_reason}){by}")


async def _mark_cancelled(
    tx: AsyncConnection, row: Row[Any], reason: str, now: datetime, replaced_by: str | None = None
) -> Row[Any]:
    moved = await tx.execute(
        update(receipts)
        .where(R.id == row.id, R.status == views.ISSUED)
        .values(status=views.CANCELLED, cancel_reason=reason, cancelled_at=now, replaced_by_id=replaced_by)
    )
    if moved.rowcount != 1:  # pragma: no cover - the row lock (or SQLite's write lock) makes this unreachable
        raise Problem(409, "receipt_cancelled")
    fresh = await views.load(tx, row.id)
    assert fresh is not None
    return fresh


async def cancel(tx: AsyncConnection, receipt_id: str, portal_id: str, reason: str, now: datetime) -> Row[Any]:
    """Cancel an issued receipt of this portal in ``tx``; 404 for another's or an unknown one, 409 if cancelled."""
    row = await views.lock(tx, receipt_id, portal_id)
    if row is None:
        raise Problem(404, "not_found")
    _refuse_if_cancelled(row)
    cancelled = await _mark_cancelled(tx, row, reason, now)
    await _announce(tx, cancelled, "receipt.cancelled", now)
    return cancelled


def _corrected_lines(original: list[Line], data: ReplaceReceipt) -> list[Line]:
    if data.lines is None:
        return original
    lines = [Line(kind=KIND_CODES[x.kind], code=x.code, name=x.name, amount=x.amount) for x in data.lines]
    total, before = sum(x.amount for x in lines), sum(x.amount for x in original)
    if total != before:
        raise Problem(
            422,
            "receipt_total_mismatch",
            f"the corrected lines sum to {total} đồng but {before} đồng were collected",
            field="lines",
        )
    return lines


async def replace(
    tx: AsyncConnection,
    receipt_id: str,
    portal_id: str,
    data: ReplaceReceipt,
    keys: AgencyKeys,
    settings: Settings,
    now: datetime,
) -> Row[Any]:
    """Issue the corrected receipt that replaces ``receipt_id`` and cancel the original, in ``tx``."""
    original = await views.lock(tx, receipt_id, portal_id)
    if original is None:
        raise Problem(404, "not_found")
    _refuse_if_cancelled(original)
    before = views.data_of(original)
    agency_code = (
        await tx.execute(select(t.agencies.c.code).where(t.agencies.c.id == original.agency_id))
    ).scalar_one()
    code = new_lookup_code()
    series = numbering.series_for(now)
    try:
        payer = before.payer if data.payer is None else Payer(**msgspec.structs.asdict(data.payer))
        corrected = msgspec.structs.replace(
            before,
            series=series,
            number=await numbering.allocate(tx, original.tax_code, original.template, series),
            issued_at=now,
            lookup_code=code,
            lookup_url=settings.lookup_url(code),
            payer=payer,
            lines=_corrected_lines(list(before.lines), data),
            related=Related(
                kind=RelatedKind.REPLACE,
                template=original.template,
                series=original.series,
                number=original.number,
                issued_on=before.issued_on,
            ),
        )
        new = prepare(
            corrected,
            agency_code,
            keys,
            receipt_id=new_id("rcp"),
            portal_id=original.portal_id,
            agency_id=original.agency_id,
            source_type=original.source_type,
            source_id=original.source_id,
            revision=original.revision + 1,
            dossier_code=original.dossier_code,
            replaces_id=original.id,
        )
    except ReceiptError as error:
        raise Problem(422, "invalid_receipt", str(error), field=error.field) from error
    except CannotIssue as error:
        raise Problem(503, "receipt_signing_unavailable", str(error)) from error
    cancelled = await _mark_cancelled(tx, original, data.reason, now, replaced_by=new.row["id"])
    await _announce(tx, cancelled, "receipt.replaced", now)
    await store(tx, [new], now)
    fresh = await views.load(tx, new.row["id"])
    assert fresh is not None
    return fresh


async def cancel_refunded(db: Database, limit: int, now: datetime | None = None) -> int:
    """Cancel the live receipts of payments refunded in full; returns how many were cancelled."""
    moment = now or now_utc()
    async with db.read() as conn:
        due = (
            await conn.execute(
                select(R.id, R.portal_id)
                .join(t.payments, t.payments.c.id == R.source_id)
                .where(
                    R.source_type == PAYMENT,
                    R.status == views.ISSUED,
                    t.payments.c.status == Status.REFUNDED.value,
                )
                .limit(limit)
            )
        ).all()
    done = 0
    for receipt in due:
        async with db.transaction() as tx:
            row = await views.lock(tx, receipt.id, receipt.portal_id)
            if row is not None and row.status == views.ISSUED:
                await _announce(
                    tx, await _mark_cancelled(tx, row, REFUNDED_REASON, moment), "receipt.cancelled", moment
                )
                done += 1
    return done
