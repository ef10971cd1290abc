"""What the public lookup pages ask of the receipts: a receipt by its lookup code with what it replaced and what
replaced it, its signature verified against its agency's certificates, and the verdict on an uploaded file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.store.db import Database
from receipts import Verification

from . import repository, trust, verdict
from .repository import StoredReceipt

LOOKUP_CODE = re.compile(r"[A-Z2-7]{16}")


def lookup_code(text: str) -> str | None:
    """The lookup code as printed, typed or scanned (any case, spaces and hyphens allowed); None if it is not one."""
    code = re.sub(r"[\s-]", "", text[:64]).upper()
    return code if LOOKUP_CODE.fullmatch(code) else None


@dataclass(frozen=True)
class Shown:
    """A receipt as its lookup page shows it."""

    receipt: StoredReceipt
    replacement: StoredReceipt | None
    replaces: StoredReceipt | None
    verification: Verification


class ReceiptLookup:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, text: str) -> StoredReceipt | None:
        """The receipt with the lookup code ``text`` reads as; None for a wrong code, well-formed or not."""
        code = lookup_code(text)
        if code is None:
            return None
        async with self.db.read() as conn:
            return await repository.by_lookup_code(conn, code)

    async def verified(self, row: StoredReceipt) -> Verification:
        async with self.db.read() as conn:
            return await trust.verify_stored(conn, row)

    async def replacement(self, row: StoredReceipt) -> StoredReceipt | None:
        if not row.replaced_by_id:
            return None
        async with self.db.read() as conn:
            return await repository.load(conn, row.replaced_by_id)

    async def show(self, text: str) -> Shown | None:
        row = await self.find(text)
        if row is None:
            return None
        async with self.db.read() as conn:
            replacement = await repository.load(conn, row.replaced_by_id) if row.replaced_by_id else None
            replaces = await repository.load(conn, row.replaces_id) if row.replaces_id else None
        return Shown(row, replacement, replaces, await self.verified(row))

    async def judge(self, document: bytes) -> verdict.Verdict:
        """The file checked against our certificates, then, under the lookup code it signed, against our record."""
        verification = await trust.verify_document(self.db, document)
        if not verification.valid:
            return verdict.judge(verification)
        row = await self.find(verification.lookup_code)
        if row is None:
            return verdict.judge(verification)
        stored = await self.verified(row)
        return verdict.judge(verification, row, stored, await self.replacement(row))
