"""The portal's corrections of its receipts: cancel with a reason, or replace by a corrected receipt that refers to
the original. Each is one unit of work with its events."""

from __future__ import annotations

from typing import Any

from adapters.vntime import now_utc
from gateway.kernel.portal import PortalContext
from gateway.settings import Settings
from gateway.store.db import Database

from . import corrections
from .keys import AgencyKeys
from .schemas import ReplaceReceipt


class ReceiptService:
    def __init__(self, db: Database, keys: AgencyKeys, settings: Settings) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings

    async def cancel(self, portal: PortalContext, receipt_id: str, reason: str) -> Any:
        async with self.db.unit() as uow:
            return await corrections.cancel(uow.conn, receipt_id, portal.portal_id, reason, now_utc())

    async def replace(self, portal: PortalContext, receipt_id: str, data: ReplaceReceipt) -> Any:
        async with self.db.unit() as uow:
            return await corrections.replace(
                uow.conn, receipt_id, portal.portal_id, data, self.keys, self.settings, now_utc()
            )
