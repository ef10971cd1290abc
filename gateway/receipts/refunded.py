"""What a refund does to the receipt of a payment, done by the worker's sweeper through the correction code.

A receipt states the money collected, and is never edited:

- refunded in full, it is cancelled ("Khoản thu đã được hoàn trả toàn bộ");
- refunded in part, it is replaced (TTBLLQuan, TCBLai 1) by a receipt for the amount kept, the refund taken off the
  last lines first; the original is cancelled ("Khoản thu đã được hoàn trả một phần"). Each later partial refund
  replaces the receipt in force again.

What a refund left of a source is the paying area's to say (``RefundedSource``, registered by the bootstrap). A
replacement that cannot be signed (the agency's key is missing) is held in ``unissued`` with its back-off, like an
original receipt, so it never holds back the others.
"""

from __future__ import annotations

from datetime import datetime

from adapters.vntime import now_utc
from gateway.kernel.collected import RefundedSource
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.uow import UnitOfWork
from receipts import ReceiptError

from . import presenter, repository, unissued
from .corrections import announce, kept_lines, mark_cancelled, reissue
from .issuance import CannotIssue
from .keys import AgencyKeys
from .repository import ISSUED
from .unissued import Unissued

REFUNDED_REASON = "Khoản thu đã được hoàn trả toàn bộ"
PARTLY_REFUNDED_REASON = "Khoản thu đã được hoàn trả một phần"


class RefundFollowUp:
    """Cancels or replaces the receipts of refunded sources of one kind (payments)."""

    def __init__(self, db: Database, keys: AgencyKeys, settings: Settings, source: RefundedSource) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings
        self.source = source

    async def cancel_refunded(self, limit: int, now: datetime | None = None) -> int:
        """Cancel the live receipts of sources refunded in full; returns how many were cancelled."""
        moment = now or now_utc()
        async with self.db.read() as conn:
            due = await repository.receipts_refunded_in_full(conn, self.source.type, self.source.refunds(), limit)
        done = 0
        for receipt in due:
            async with self.db.unit() as uow:
                row = await repository.lock(uow.conn, receipt.id, receipt.portal_id)
                if row is not None and row.status == ISSUED:
                    cancelled = await mark_cancelled(uow.conn, row, REFUNDED_REASON, moment)
                    await announce(uow, cancelled, "receipt.cancelled", moment)
                    done += 1
        return done

    async def replace_partly_refunded(self, limit: int, now: datetime | None = None) -> int:
        """Replace the live receipts that state more than their source kept after partial refunds; returns how
        many."""
        moment = now or now_utc()
        source_type = self.source.type
        async with self.db.read() as conn:
            due = await repository.receipts_over_kept(conn, source_type, self.source.refunds(), moment, limit)
        done = 0
        failed: list[Unissued] = []
        for receipt in due:
            try:
                async with self.db.unit() as uow:
                    done += await self._replace_one(uow, receipt.id, receipt.portal_id, moment)
            except (CannotIssue, ReceiptError) as error:
                reason = f"replacement after a partial refund: {error}"
                failed.append(
                    Unissued(
                        source_type,
                        receipt.source_id,
                        receipt.portal_id,
                        receipt.agency_id,
                        receipt.dossier_code,
                        reason,
                    )
                )
        retry = (self.settings.receipt_retry_seconds, self.settings.receipt_retry_max_seconds)
        await unissued.hold(self.db, failed, moment, *retry)
        return done

    async def _replace_one(self, uow: UnitOfWork, receipt_id: str, portal_id: str, now: datetime) -> int:
        """Replace one receipt by one for the amount kept, unless something changed since it was found."""
        tx = uow.conn
        row = await repository.lock(tx, receipt_id, portal_id)
        if row is None or row.status != ISSUED:
            return 0
        kept = await self.source.kept(tx, row.source_id)
        if kept is None or not 0 < kept < row.total:
            return 0
        before = presenter.data_of(row)
        lines = kept_lines(list(before.lines), kept)
        await reissue(uow, row, before.payer, lines, PARTLY_REFUNDED_REASON, self.keys, self.settings, now)
        await unissued.release(tx, self.source.type, [row.source_id])
        return 1
