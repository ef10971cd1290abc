"""Issuing receipts for collected money, exactly once per source.

Everything about one receipt happens in one transaction: its number is allocated, its XML built, checked
against the XSD and signed, the receipt stored and its ``receipt.issued`` event written. The unique original per
source (revision 0) means a second issuer, a job run twice or a sweeper racing the job, fails on insert and rolls
back, number included; it then finds the receipt the first one stored. A worker killed at any point leaves either
the whole receipt or nothing.

Sources are issued in batches where they can be (the sweeper): one allocation of consecutive numbers and one
insert for the batch, so the cost of a receipt stays close to its RSA signature. Anything unusual in a batch (a
concurrent issuer, data a receipt cannot carry) rolls the batch back and issues its sources one by one.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import msgspec
from cryptography import x509
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.settings import Settings
from gateway.store import outbox
from gateway.store.db import Database
from gateway.store.receipt_tables import receipts
from receipts import ReceiptData, ReceiptError, SchemaError, SigningKeyError, issue

from . import cod_source, numbering, sources, trust, views  # noqa: F401 - cod_source registers the COD kind
from .keys import AgencyKeys
from .sources import ReceiptSource

log = logging.getLogger("gateway.receipts")

LOOKUP_CODE_BYTES = 10  # 80 random bits: 16 base32 characters


class CannotIssue(RuntimeError):
    """The source cannot be receipted now (no signing key, expired certificate, data a receipt cannot carry)."""


def new_lookup_code() -> str:
    """MTCuu: 16 characters of RFC 4648 base32 (A-Z, 2-7) from 80 random bits: unguessable, easy to type."""
    return base64.b32encode(secrets.token_bytes(LOOKUP_CODE_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Prepared:
    """A receipt signed and ready to insert, with the row that stores it and the certificate it was signed with."""

    row: dict[str, Any]
    data: ReceiptData
    certificate: x509.Certificate

    def as_row(self) -> Any:
        return SimpleNamespace(**self.row)


def prepare(
    data: ReceiptData,
    key_agency: str,
    keys: AgencyKeys,
    *,
    receipt_id: str,
    portal_id: str,
    agency_id: str,
    source_type: str,
    source_id: str,
    revision: int,
    dossier_code: str,
    replaces_id: str | None = None,
) -> Prepared:
    """Sign ``data`` with the agency's key and lay out its row; raises CannotIssue when it cannot be signed."""
    key = keys.get(key_agency)
    if key is None:
        raise CannotIssue(f"no receipt signing key for agency {key_agency}")
    try:
        xml = issue(data, key, data.issued_at)
    except (SigningKeyError, SchemaError, ReceiptError) as error:
        raise CannotIssue(f"receipt for {source_type} {source_id}: {error}") from error
    return Prepared(
        {
            "id": receipt_id,
            "portal_id": portal_id,
            "agency_id": agency_id,
            "source_type": source_type,
            "source_id": source_id,
            "revision": revision,
            "dossier_code": dossier_code,
            "tax_code": data.collector.tax_code,
            "template": data.template,
            "series": data.series,
            "number": data.number,
            "issued_at": data.issued_at,
            "lookup_code": data.lookup_code,
            "status": views.ISSUED,
            "total": data.total,
            "replaces_id": replaces_id,
            "replaced_by_id": None,
            "cancel_reason": "",
            "cancelled_at": None,
            "data": msgspec.to_builtins(data),
            "xml": xml,
        },
        data,
        key.certificate,
    )


async def store(tx: AsyncConnection, prepared: Sequence[Prepared], now: datetime) -> None:
    """Insert the receipts, keep their signing certificates as their agencies', and write a ``receipt.issued``
    event for each, in ``tx``."""
    await trust.record_signers(tx, [(p.row["agency_id"], p.certificate) for p in prepared], now)
    await tx.execute(receipts.insert(), [p.row for p in prepared])
    await outbox.record_many(
        tx,
        [
            {
                "portal_id": p.row["portal_id"],
                "dossier_code": p.row["dossier_code"],
                "type": "receipt.issued",
                "resource_type": "receipt",
                "resource_id": p.row["id"],
                "payload": views.payload(p.as_row(), p.data),
            }
            for p in prepared
        ],
        now,
    )


class ReceiptIssuer:
    """Issues the original receipt of collected sources; shared by the worker's jobs and the benchmarks."""

    def __init__(self, db: Database, keys: AgencyKeys, settings: Settings) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings

    def compose(self, source: ReceiptSource, number: int, now: datetime) -> ReceiptData:
        code = new_lookup_code()
        return ReceiptData(
            template=self.settings.receipt_template,
            series=numbering.series_for(now),
            number=number,
            issued_at=now,
            lookup_code=code,
            lookup_url=self.settings.lookup_url(code),
            payment_method=source.payment_method,
            collector=source.collector,
            payer=source.payer,
            lines=list(source.lines),
            dossier_code=source.dossier_code,
            procedure_code=source.procedure_code,
            transaction_id=source.transaction_id,
        )

    def _prepare(self, source: ReceiptSource, number: int, now: datetime) -> Prepared:
        try:
            data = self.compose(source, number, now)
        except ReceiptError as error:
            raise CannotIssue(f"receipt for {source.type} {source.id}: {error}") from error
        return prepare(
            data,
            source.agency_code,
            self.keys,
            receipt_id=new_id("rcp"),
            portal_id=source.portal_id,
            agency_id=source.agency_id,
            source_type=source.type,
            source_id=source.id,
            revision=0,
            dossier_code=source.dossier_code,
        )

    async def _issue_batch(self, tx: AsyncConnection, batch: Sequence[ReceiptSource], now: datetime) -> list[str]:
        """Issue every source of ``batch`` (all of one collector) in ``tx``, with consecutive numbers."""
        series = numbering.series_for(now)
        tax_code = batch[0].collector.tax_code
        first = await numbering.allocate(tx, tax_code, self.settings.receipt_template, series, len(batch))
        prepared = [self._prepare(source, first + i, now) for i, source in enumerate(batch)]
        await store(tx, prepared, now)
        issued = [p.row["id"] for p in prepared]
        kind = sources.KINDS[batch[0].type]
        if kind.on_issued is not None:
            await kind.on_issued(tx, [(s.id, receipt_id) for s, receipt_id in zip(batch, issued, strict=True)])
        return issued

    async def issue(self, source_type: str, source_id: str, now: datetime | None = None) -> str | None:
        """The id of the source's original receipt, issued now unless it exists; None if nothing is collected."""
        kind = sources.KINDS[source_type]
        moment = now or now_utc()
        try:
            async with self.db.transaction() as tx:  # one transaction: read, number, sign, store, announce
                existing = await views.original_of(tx, source_type, source_id)
                if existing is not None:
                    return str(existing.id)
                found = await kind.load(tx, [source_id])
                if not found:
                    return None
                (receipt_id,) = await self._issue_batch(tx, found, moment)
        except IntegrityError:  # a concurrent issuer stored it first; our number went back with the rollback
            async with self.db.read() as conn:
                existing = await views.original_of(conn, source_type, source_id)
            if existing is None:
                raise
            return str(existing.id)
        log.info("receipt issued", extra={"receipt_id": receipt_id, "source_type": source_type, "source_id": source_id})
        return receipt_id

    async def issue_pending(self, now: datetime | None = None, limit: int | None = None) -> int:
        """Issue receipts for every kind of collected source that has none yet; returns how many were issued."""
        issued = 0
        batch_size = limit or self.settings.receipt_batch
        for name, kind in sources.KINDS.items():
            async with self.db.read() as conn:
                found = await kind.load(conn, await kind.unreceipted(conn, batch_size))
            by_collector: dict[str, list[ReceiptSource]] = {}
            for source in found:
                if source.agency_code in self.keys:
                    by_collector.setdefault(source.collector.tax_code, []).append(source)
                else:
                    log.error("no receipt signing key", extra={"agency": source.agency_code, "source_id": source.id})
            for batch in by_collector.values():
                issued += await self._issue_or_split(name, batch, now or now_utc())
        return issued

    async def _issue_or_split(self, source_type: str, batch: list[ReceiptSource], now: datetime) -> int:
        try:
            async with self.db.transaction() as tx:
                return len(await self._issue_batch(tx, batch, now))
        except (IntegrityError, CannotIssue) as error:
            log.warning("receipt batch rolled back; issuing one by one", extra={"error": str(error)})
        issued = 0
        for source in batch:
            try:
                issued += await self.issue(source_type, source.id, now) is not None
            except CannotIssue as error:
                log.error("receipt not issued", extra={"source_id": source.id, "error": str(error)})
        return issued
