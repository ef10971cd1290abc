"""A wrong receipt is never edited: it is cancelled with a reason, or replaced by a new receipt that refers to it
(TTBLLQuan, TCBLai 1) while the original is marked cancelled, in one transaction with the events that say so.
What a refund does to a receipt (cancel, or replace with the amount kept) is in ``refunded``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import portals
from gateway.ids import new_id
from gateway.kernel import receipt_parts
from gateway.kernel.errors import Refused
from gateway.kernel.fees import KIND_CODES
from gateway.settings import Settings
from gateway.store.uow import UnitOfWork
from receipts import Line, Payer, ReceiptError, Related, RelatedKind

from . import numbering, presenter, repository
from .issuance import CannotIssue, new_lookup_code, prepare, store
from .keys import AgencyKeys
from .repository import ISSUED, StoredReceipt
from .schemas import ReplaceReceipt


async def announce(uow: UnitOfWork, row: StoredReceipt, event_type: str, now: datetime) -> None:
    await uow.event(
        portal_id=row.portal_id,
        dossier_code=row.dossier_code,
        type=event_type,
        resource_type="receipt",
        resource_id=row.id,
        payload=presenter.payload(row),
        now=now,
    )


def _refuse_if_cancelled(row: StoredReceipt) -> None:
    if row.status != ISSUED:
        by = f"; replaced by {row.replaced_by_id}" if row.replaced_by_id else ""
        raise Refused("receipt_cancelled", f"the receipt was cancelled ({row.cancel_reason}){by}")


async def mark_cancelled(
    tx: AsyncConnection, row: StoredReceipt, reason: str, now: datetime, replaced_by: str | None = None
) -> StoredReceipt:
    if not await repository.mark_cancelled(tx, row.id, reason, now, replaced_by):  # pragma: no cover - the row lock
        raise Refused("receipt_cancelled")  # (or SQLite's write lock) makes this unreachable
    fresh = await repository.load(tx, row.id)
    assert fresh is not None
    return fresh


async def cancel(uow: UnitOfWork, receipt_id: str, portal_id: str, reason: str, now: datetime) -> StoredReceipt:
    """Cancel an issued receipt of this portal in ``uow``; 404 for another's or an unknown one, 409 if cancelled."""
    row = await repository.lock(uow.conn, receipt_id, portal_id)
    if row is None:
        raise Refused("not_found")
    _refuse_if_cancelled(row)
    cancelled = await mark_cancelled(uow.conn, row, reason, now)
    await announce(uow, cancelled, "receipt.cancelled", now)
    return cancelled


def corrected_payer(before: Payer, data: ReplaceReceipt) -> Payer:
    if data.payer is None:
        return before
    p = data.payer
    return receipt_parts.payer(p.name, p.id_number, p.tax_code, p.address)


def corrected_lines(original: list[Line], data: ReplaceReceipt, fees: dict[str, Any]) -> list[Line]:
    """The corrected lines: fees of the procedure's catalogue, checked as a payment's are, adding up to what was
    collected. ``fees`` is the catalogue of the receipt's procedure (empty when it has none)."""
    if data.lines is None:
        return original
    lines = [receipt_parts.line(KIND_CODES[x.kind], x.code, x.name, x.amount) for x in data.lines]
    portals.check_fee_lines(lines, fees, "lines")
    total, before = sum(x.amount for x in lines), sum(x.amount for x in original)
    if total != before:
        raise Refused(
            "receipt_total_mismatch",
            f"the corrected lines sum to {total} đồng but {before} đồng were collected",
            field="lines",
        )
    return lines


def kept_lines(lines: list[Line], kept: int) -> list[Line]:
    """The lines of a receipt for the ``kept`` đồng left after a partial refund: the refund comes off the last lines
    first, and a line that reaches zero is left out."""
    result = []
    left = kept
    for line in lines:
        amount = min(line.amount, left)
        if amount > 0:
            result.append(receipt_parts.line(line.kind, line.code, line.name, amount))
            left -= amount
    return result


async def _catalogue_fees(tx: AsyncConnection, agency_id: str, procedure_code: str) -> dict[str, Any]:
    procedure = await repository.procedure_id(tx, agency_id, procedure_code)
    return {} if procedure is None else await portals.fees_of(tx, procedure)


async def replace(
    uow: UnitOfWork,
    receipt_id: str,
    portal_id: str,
    data: ReplaceReceipt,
    keys: AgencyKeys,
    settings: Settings,
    now: datetime,
) -> StoredReceipt:
    """Issue the corrected receipt that replaces ``receipt_id`` and cancel the original, in ``uow``."""
    original = await repository.lock(uow.conn, receipt_id, portal_id)
    if original is None:
        raise Refused("not_found")
    _refuse_if_cancelled(original)
    before = presenter.data_of(original)
    fees = await _catalogue_fees(uow.conn, original.agency_id, before.procedure_code) if data.lines is not None else {}
    try:
        payer, lines = corrected_payer(before.payer, data), corrected_lines(list(before.lines), data, fees)
        return await reissue(uow, original, payer, lines, data.reason, keys, settings, now)
    except ReceiptError as error:
        raise Refused("invalid_receipt", str(error), field=error.field) from error
    except CannotIssue as error:
        raise Refused("receipt_signing_unavailable", str(error)) from error


async def reissue(
    uow: UnitOfWork,
    original: StoredReceipt,
    payer: Payer,
    lines: list[Line],
    reason: str,
    keys: AgencyKeys,
    settings: Settings,
    now: datetime,
) -> StoredReceipt:
    """Issue a receipt replacing ``original`` (locked, in force) with this payer and these lines, numbered in the
    current series and referring to it (TTBLLQuan, TCBLai 1); cancel the original with ``reason``. Raises
    CannotIssue (no key) or ReceiptError, in which case ``uow`` must be rolled back."""
    tx = uow.conn
    before = presenter.data_of(original)
    agency_code = await repository.agency_code(tx, original.agency_id)
    code = new_lookup_code()
    series = numbering.series_for(now)
    corrected = msgspec.structs.replace(
        before,
        series=series,
        number=await numbering.allocate(tx, original.tax_code, original.template, series),
        issued_at=now,
        lookup_code=code,
        lookup_url=settings.lookup_url(code),
        payer=payer,
        lines=lines,
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
    cancelled = await mark_cancelled(tx, original, reason, now, replaced_by=new.receipt.id)
    await announce(uow, cancelled, "receipt.replaced", now)
    await store(uow, [new], now)
    await uow.flush()  # the replacement as stored, read back
    fresh = await repository.load(tx, new.receipt.id)
    assert fresh is not None
    return fresh
