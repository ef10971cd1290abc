"""The portal's use of its receipts: read them (with the signature verified for a PDF), list them, and correct them
(cancel with a reason, or replace by a corrected receipt that refers to the original), each correction one unit of
work with its events."""

from __future__ import annotations

from adapters.vntime import now_utc
from gateway import payments
from gateway.kernel.attempts import Attempt
from gateway.kernel.collected import PAYMENT
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.settings import Settings
from gateway.store.db import Database
from receipts import Verification

from . import corrections, repository, trust
from .keys import AgencyKeys
from .repository import StoredReceipt
from .schemas import ReplaceReceipt


class ReceiptService:
    def __init__(self, db: Database, keys: AgencyKeys, settings: Settings) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings

    async def get(
        self, portal: PortalContext, receipt_id: str, *, verified: bool = False
    ) -> tuple[StoredReceipt, Verification | None]:
        """One of the portal's receipts, with its signature checked against its agency's certificates if asked."""
        async with self.db.read() as conn:
            row = await repository.load(conn, receipt_id, portal.portal_id)
            verification = await trust.verify_stored(conn, row) if row is not None and verified else None
        if row is None:
            raise Refused("not_found")
        return row, verification

    async def page(
        self, portal: PortalContext, *, dossier_code: str | None, cursor: str | None, limit: int
    ) -> tuple[list[StoredReceipt], str | None]:
        async with self.db.read() as conn:
            return await repository.list_page(
                conn, portal.portal_id, dossier_code=dossier_code, cursor=cursor, limit=limit
            )

    async def of_payment(self, portal: PortalContext, payment_id: str) -> list[StoredReceipt]:
        """The receipts of one of the portal's payments: the original, then each replacement."""
        async with self.db.read() as conn:
            if not await payments.belongs(conn, payment_id, portal.portal_id):
                raise Refused("not_found")
            return await repository.of_source(conn, PAYMENT, payment_id, portal.portal_id)

    async def cancel(self, portal: PortalContext, attempt: Attempt, receipt_id: str, reason: str) -> StoredReceipt:
        """Cancel with a reason. A retry of a cancel that was done (its answer lost) gets the cancelled receipt."""
        if attempt.resume_id is not None:
            return (await self.get(portal, attempt.resume_id))[0]
        async with self.db.unit() as uow:
            cancelled = await corrections.cancel(uow, receipt_id, portal.portal_id, reason, now_utc())
            await uow.bind(attempt, cancelled.id)
            return cancelled

    async def replace(
        self, portal: PortalContext, attempt: Attempt, receipt_id: str, data: ReplaceReceipt
    ) -> StoredReceipt:
        """Replace by a corrected receipt. A retry of a replacement that was made gets that replacement."""
        if attempt.resume_id is not None:
            return (await self.get(portal, attempt.resume_id))[0]
        async with self.db.unit() as uow:
            replacement = await corrections.replace(
                uow, receipt_id, portal.portal_id, data, self.keys, self.settings, now_utc()
            )
            await uow.bind(attempt, replacement.id)
            return replacement
