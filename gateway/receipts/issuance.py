"""Issuing receipts for collected money, exactly once per source.

A receipt is built, checked against the XSD and signed outside any transaction, in a pool of threads (one per
core), with the numbers that follow the series' last one; then one short transaction takes those numbers (only if
nobody took them meanwhile: ``numbering.take_after``), stores the receipts and writes their ``receipt.issued``
events. The series row is thus locked only while signed receipts are stored. If another issuer took numbers
meanwhile, nothing is stored and the receipts are signed again with the numbers now free; after a few such races
the batch takes its numbers first and signs while holding them, so it always gets through.

The unique original per source (revision 0) means a second issuer, a job run twice or a sweeper racing the job,
fails on insert and rolls back, numbers included; it then finds the receipt the first one stored. A worker killed
at any point leaves either the whole batch or nothing.

Sources are issued in batches: the sweeper's, and the jobs that arrive together (``gathering``): one read of the
sources, one signing pass, one transaction. Anything unusual in a batch (a concurrent issuer, data a receipt cannot
carry) rolls the batch back and issues its sources one by one.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from cryptography import x509
from sqlalchemy.exc import IntegrityError

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.kernel.collected import CollectionSource
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.uow import UnitOfWork
from receipts import ReceiptData, ReceiptError, SchemaError, SigningKey, SigningKeyError, issue

from . import numbering, presenter, repository, trust, unissued
from .gathering import Gathering, Outcome
from .keys import AgencyKeys, ReceiptKeysError
from .repository import StoredReceipt
from .signer import Signer
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


async def store(uow: UnitOfWork, prepared: Sequence[Prepared], now: datetime) -> None:
    """Insert the receipts, keep their signing certificates as their agencies', and write a ``receipt.issued``
    event for each, when ``uow`` commits (one statement on PostgreSQL)."""
    trust.keep_signers(uow, [(p.receipt.agency_id, p.certificate) for p in prepared], now)
    repository.insert(uow, [p.receipt for p in prepared])
    for p in prepared:
        await uow.event(
            portal_id=p.receipt.portal_id,
            dossier_code=p.receipt.dossier_code,
            type="receipt.issued",
            resource_type="receipt",
            resource_id=p.receipt.id,
            payload=presenter.payload(p.receipt, p.data),
            now=now,
        )


class NumbersTaken(Exception):
    """Another issuer took numbers of the series after the receipts were signed: sign them again."""


MAX_NUMBER_RACES = 3  # optimistic attempts before a batch takes its numbers first and signs holding them


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
        self.signer = Signer()
        self.series = numbering.SeriesTurns()
        self.gathering = Gathering(self._issue_many, settings.receipt_batch)

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

    async def _sign(self, batch: Sequence[ReceiptSource], first: int, now: datetime) -> list[Prepared]:
        """The batch's receipts, numbered from ``first``, built and signed in the signing threads."""
        return await self.signer.map(lambda n: self._prepare(batch[n], first + n, now), range(len(batch)))

    async def _store(self, uow: UnitOfWork, batch: Sequence[ReceiptSource], prepared: list[Prepared]) -> None:
        now = prepared[0].data.issued_at
        await store(uow, prepared, now)
        await unissued.release(uow.conn, batch[0].type, [source.id for source in batch])
        pairs = [(s.id, p.receipt.id) for s, p in zip(batch, prepared, strict=True)]
        await self.sources[batch[0].type].receipted(uow.conn, pairs)

    async def _issue_batch(self, batch: Sequence[ReceiptSource], now: datetime) -> list[str]:
        """Issue every source of ``batch`` (all of one collector) with consecutive numbers: signed first, then
        numbered and stored in one short transaction."""
        key = (batch[0].collector.tax_code, self.settings.receipt_template, numbering.series_for(now))
        async with self.series.turn(key):
            for _ in range(MAX_NUMBER_RACES):
                last = await self.series.last(self.db.read, key)
                try:
                    numbering.check_room(*key, last + len(batch))
                    prepared = await self._sign(batch, last + 1, now)
                    async with self.db.unit() as uow:
                        if not await numbering.take_after(uow.conn, *key, last, len(batch)):
                            raise NumbersTaken
                        await self._store(uow, batch, prepared)
                except NumbersTaken:
                    self.series.forget(key)
                    continue
                except numbering.SeriesExhausted as error:  # this collector's sources wait; the others go on
                    raise CannotIssue(str(error)) from error
                except BaseException:
                    self.series.forget(key)
                    raise
                self.series.taken(key, last + len(batch))
                return [p.receipt.id for p in prepared]
            return await self._issue_holding_numbers(key, batch, now)

    async def _issue_holding_numbers(
        self, key: numbering.SeriesKey, batch: Sequence[ReceiptSource], now: datetime
    ) -> list[str]:
        """The way through when other issuers keep taking the numbers: take them first, sign holding the series."""
        try:
            async with self.db.unit() as uow:
                first = await numbering.allocate(uow.conn, *key, len(batch))
                prepared = await self._sign(batch, first, now)
                await self._store(uow, batch, prepared)
        except numbering.SeriesExhausted as error:
            raise CannotIssue(str(error)) from error
        finally:
            self.series.forget(key)
        return [p.receipt.id for p in prepared]

    async def issue(self, source_type: str, source_id: str, now: datetime | None = None) -> str | None:
        """The id of the source's original receipt, issued now unless it exists; None if nothing is collected.
        Requests that arrive together are issued as one batch (``gathering``).

        Raises CannotIssue when the source cannot be receipted now (no key, data a receipt cannot carry)."""
        return await self.gathering.issue(source_type, source_id, now)

    async def _issue_many(
        self, source_type: str, source_ids: Sequence[str], now: datetime | None
    ) -> dict[str, Outcome]:
        """What ``issue`` answers for each of ``source_ids``, issuing those that need it as batches."""
        moment = now or now_utc()
        async with self.db.read() as conn:
            outcomes: dict[str, Outcome] = dict(await repository.originals_of(conn, source_type, source_ids))
            wanted = [source_id for source_id in source_ids if source_id not in outcomes]
            found = await self.sources.load(conn, source_type, wanted) if wanted else []
        ready, failed = self._sort_out(found)
        outcomes.update({f.id: CannotIssue(f.reason) for f in failed})
        for batch in _by_collector(ready):
            issued, refused = await self._issue_or_split(source_type, batch, moment)
            outcomes.update(issued)
            outcomes.update({f.id: CannotIssue(f.reason) for f in refused})
        for source_id in wanted:
            outcome = outcomes.setdefault(source_id, None)
            if isinstance(outcome, str):
                extra = {"receipt_id": outcome, "source_type": source_type, "source_id": source_id}
                log.info("receipt issued", extra=extra)
        return outcomes

    async def _issue_one(self, source_type: str, source_id: str, now: datetime) -> str | None:
        """``issue`` for one source, in a batch of its own."""
        async with self.db.read() as conn:
            existing = await repository.originals_of(conn, source_type, [source_id])
            found = [] if existing else await self.sources.load(conn, source_type, [source_id])
        if existing or not found:
            return existing.get(source_id)
        if isinstance(found[0], Unissued):
            raise CannotIssue(found[0].reason)
        try:
            (receipt_id,) = await self._issue_batch([found[0]], now)
        except IntegrityError:  # a concurrent issuer stored it first; our numbers went back with the rollback
            async with self.db.read() as conn:
                existing = await repository.originals_of(conn, source_type, [source_id])
            if not existing:
                raise
            return existing[source_id]
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
                collected_by = moment - timedelta(seconds=self.settings.receipt_sweep_grace_seconds)
                async with self.db.read() as conn:
                    pending = repository.pending(name, moment)
                    ids = await self.sources[name].unreceipted(conn, batch_size, pending, collected_by)
                    found = await self.sources.load(conn, name, ids) if ids else []
                ready, failed = self._sort_out(found)
                for batch in _by_collector(ready):
                    done, refused = await self._issue_or_split(name, batch, moment)
                    issued += sum(isinstance(outcome, str) for outcome in done.values())
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
    ) -> tuple[dict[str, str | None], list[Unissued]]:
        """Receipt ids by source id, and the sources refused with the reason."""
        try:
            issued = await self._issue_batch(batch, now)
            return {s.id: receipt_id for s, receipt_id in zip(batch, issued, strict=True)}, []
        except (IntegrityError, CannotIssue) as error:
            log.warning("receipt batch rolled back; issuing one by one", extra={"error": str(error)})
        done: dict[str, str | None] = {}
        failed: list[Unissued] = []
        for source in batch:
            try:
                done[source.id] = await self._issue_one(source_type, source.id, now)
            except CannotIssue as error:
                failed.append(_unissued(source, str(error)))
        return done, failed


MAX_BATCHES_PER_SWEEP = 20  # a sweep stops after this many full batches; the next one carries on


def _by_collector(ready: Sequence[ReceiptSource]) -> list[list[ReceiptSource]]:
    """Batches of one collector each: a batch takes consecutive numbers of one series."""
    batches: dict[str, list[ReceiptSource]] = {}
    for source in ready:
        batches.setdefault(source.collector.tax_code, []).append(source)
    return list(batches.values())


def _unissued(source: ReceiptSource, reason: str) -> Unissued:
    return Unissued(source.type, source.id, source.portal_id, source.agency_id, source.dossier_code, reason)
