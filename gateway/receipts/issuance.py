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

import msgspec
from cryptography import x509
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.kernel.collected import CollectionSource
from gateway.settings import Settings
from gateway.store import outbox
from gateway.store.db import Database
from receipts import ReceiptData, ReceiptError, SchemaError, SigningKey, SigningKeyError, issue

from . import numbering, presenter, repository, trust, unissued
from .keys import AgencyKeys, ReceiptKeysError
from .repository import StoredReceipt
from .sources import Loaded, ReceiptSource, Sources
from .unissued import Unissued

log = logging.getLogger("gateway.receipts")

LOOKUP_CODE_BYTES = 10  # 80 random bits: 16 base32 characters


class CannotIssue(RuntimeError):
    """The source cannot be receipted now (no signing key, expired certificate, data a receipt cannot carry)."""


def new_lookup_code() -> str:
    """MTCuu: 16 characters of RFC 4648 base32 (A-Z, 2-7) from 80 random bits: unguessable, easy to type."""
    return base64.b32encode(secrets.token_bytes(LOOKUP_CODE_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Prepared:
    """A receipt signed and ready to insert, with the certificate it was signed with."""

    receipt: StoredReceipt
    data: ReceiptData
    certificate: x509.Certificate


def signing_key(keys: AgencyKeys, agency_code: str) -> SigningKey:
    """The agency's signing key (one installed since start included), or CannotIssue saying why there is none."""
    try:
        key = keys.find(agency_code)
    except ReceiptKeysError as error:
        raise CannotIssue(str(error)) from error
    if key is None:
        raise CannotIssue(f"no receipt signing key for agency {agency_code}")
    return key


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
    key = signing_key(keys, key_agency)
    try:
        xml = issue(data, key, data.issued_at)
    except (SigningKeyError, SchemaError, ReceiptError) as error:
        raise CannotIssue(f"receipt for {source_type} {source_id}: {error}") from error
    return Prepared(
        StoredReceipt(
            id=receipt_id,
            portal_id=portal_id,
            agency_id=agency_id,
            source_type=source_type,
            source_id=source_id,
            revision=revision,
            dossier_code=dossier_code,
            tax_code=data.collector.tax_code,
            template=data.template,
            series=data.series,
            number=data.number,
            issued_at=data.issued_at,
            lookup_code=data.lookup_code,
            status=repository.ISSUED,
            total=data.total,
            replaces_id=replaces_id,
            replaced_by_id=None,
            cancel_reason="",
            cancelled_at=None,
            data=msgspec.to_builtins(data),
            xml=xml,
        ),
        data,
        key.certificate,
    )


async def store(tx: AsyncConnection, prepared: Sequence[Prepared], now: datetime) -> None:
    """Insert the receipts, keep their signing certificates as their agencies', and write a ``receipt.issued``
    event for each, in ``tx``."""
    await trust.record_signers(tx, [(p.receipt.agency_id, p.certificate) for p in prepared], now)
    await repository.insert(tx, [p.receipt for p in prepared])
    await outbox.record_many(
        tx,
        [
            {
                "portal_id": p.receipt.portal_id,
                "dossier_code": p.receipt.dossier_code,
                "type": "receipt.issued",
                "resource_type": "receipt",
                "resource_id": p.receipt.id,
                "payload": presenter.payload(p.receipt, p.data),
            }
            for p in prepared
        ],
        now,
    )


class ReceiptIssuer:
    """Issues the original receipt of collected sources (read through the ``sources`` the bootstrap registered);
    shared by the worker's jobs and the benchmarks."""

    def __init__(
        self, db: Database, keys: AgencyKeys, settings: Settings, sources: Sequence[CollectionSource] = ()
    ) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings
        self.sources = Sources(sources)

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
        try:
            first = await numbering.allocate(tx, tax_code, self.settings.receipt_template, series, len(batch))
        except numbering.SeriesExhausted as error:  # this collector's sources wait; the others go on
            raise CannotIssue(str(error)) from error
        prepared = [self._prepare(source, first + i, now) for i, source in enumerate(batch)]
        await store(tx, prepared, now)
        await unissued.release(tx, batch[0].type, [source.id for source in batch])
        issued = [p.receipt.id for p in prepared]
        pairs = [(s.id, receipt_id) for s, receipt_id in zip(batch, issued, strict=True)]
        await self.sources[batch[0].type].receipted(tx, pairs)
        return issued

    async def issue(self, source_type: str, source_id: str, now: datetime | None = None) -> str | None:
        """The id of the source's original receipt, issued now unless it exists; None if nothing is collected.

        Raises CannotIssue when the source cannot be receipted now (no key, data a receipt cannot carry)."""
        moment = now or now_utc()
        try:
            async with self.db.transaction() as tx:  # one transaction: read, number, sign, store, announce
                existing = await repository.original_of(tx, source_type, source_id)
                if existing is not None:
                    return str(existing.id)
                found = await self.sources.load(tx, source_type, [source_id])
                if not found:
                    return None
                if isinstance(found[0], Unissued):
                    raise CannotIssue(found[0].reason)
                (receipt_id,) = await self._issue_batch(tx, [found[0]], moment)
        except IntegrityError:  # a concurrent issuer stored it first; our number went back with the rollback
            async with self.db.read() as conn:
                existing = await repository.original_of(conn, source_type, source_id)
            if existing is None:
                raise
            return str(existing.id)
        log.info("receipt issued", extra={"receipt_id": receipt_id, "source_type": source_type, "source_id": source_id})
        return receipt_id

    async def issue_pending(self, now: datetime | None = None, limit: int | None = None) -> int:
        """Issue receipts for every kind of collected source that has none yet; returns how many were issued.

        A source that cannot be receipted is held (``unissued``) with its reason and a back-off, and the next batch
        is read past it: however many are held, the sources behind them are issued in the same sweep."""
        batch_size = limit or self.settings.receipt_batch
        issued = 0
        for name in self.sources.types:
            for _ in range(MAX_BATCHES_PER_SWEEP):
                moment = now or now_utc()
                async with self.db.read() as conn:
                    ids = await self.sources[name].unreceipted(conn, batch_size, repository.pending(name, moment))
                    found = await self.sources.load(conn, name, ids) if ids else []
                ready, failed = self._sort_out(found)
                for batch in _by_collector(ready):
                    done, refused = await self._issue_or_split(name, batch, moment)
                    issued += done
                    failed.extend(refused)
                retry = (self.settings.receipt_retry_seconds, self.settings.receipt_retry_max_seconds)
                await unissued.hold(self.db, failed, moment, *retry)
                if len(ids) < batch_size:
                    break
        return issued

    def _sort_out(self, found: Sequence[Loaded]) -> tuple[list[ReceiptSource], list[Unissued]]:
        """The sources that can be signed now, and the others with the reason."""
        ready: list[ReceiptSource] = []
        failed: list[Unissued] = []
        for source in found:
            if isinstance(source, Unissued):
                failed.append(source)
                continue
            try:
                signing_key(self.keys, source.agency_code)
            except CannotIssue as error:
                failed.append(_unissued(source, str(error)))
                continue
            ready.append(source)
        return ready, failed

    async def _issue_or_split(
        self, source_type: str, batch: list[ReceiptSource], now: datetime
    ) -> tuple[int, list[Unissued]]:
        try:
            async with self.db.transaction() as tx:
                return len(await self._issue_batch(tx, batch, now)), []
        except (IntegrityError, CannotIssue) as error:
            log.warning("receipt batch rolled back; issuing one by one", extra={"error": str(error)})
        issued = 0
        failed: list[Unissued] = []
        for source in batch:
            try:
                issued += await self.issue(source_type, source.id, now) is not None
            except CannotIssue as error:
                failed.append(_unissued(source, str(error)))
        return issued, failed


MAX_BATCHES_PER_SWEEP = 20  # a sweep stops after this many full batches; the next one carries on


def _by_collector(ready: Sequence[ReceiptSource]) -> list[list[ReceiptSource]]:
    """Batches of one collector each: a batch takes consecutive numbers of one series."""
    batches: dict[str, list[ReceiptSource]] = {}
    for source in ready:
        batches.setdefault(source.collector.tax_code, []).append(source)
    return list(batches.values())


def _unissued(source: ReceiptSource, reason: str) -> Unissued:
    return Unissued(source.type, source.id, source.portal_id, source.agency_id, source.dossier_code, reason)
