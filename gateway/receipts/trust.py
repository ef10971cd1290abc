"""The certificates each agency signs, or has signed, its receipts with: the only ones a signature counts against.

A receipt carries the certificate it was signed with, and anyone can make a certificate bearing an agency's name,
so that one proves nothing. What we hold is the keys folder, and from it this table: every certificate the
gateway has loaded for an agency is recorded at start and again in the transaction that stores a receipt signed
with it, and is never removed, so a certificate replaced at renewal still verifies the receipts it signed (within
its own validity). A certificate in use before this table existed is added with ``gateway agency certificate``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.db import Database
from gateway.store.uow import UnitOfWork
from receipts import Trusted, Verification, claimed_collector, verify

from . import repository
from .keys import AgencyKeys
from .repository import StoredReceipt

log = logging.getLogger("gateway.receipts")

START_TIMEOUT_SECONDS = 10  # a database that does not answer at start must not hold the start up
LOADED = "loaded"
IMPORTED = "imported"


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


async def record(
    tx: AsyncConnection, agency_id: str, certificate: x509.Certificate, now: datetime, origin: str = LOADED
) -> None:
    """Keep ``certificate`` as one of the agency's; a certificate already kept is left as it is."""
    await repository.keep_certificate(tx, _kept(agency_id, certificate, now, origin))


def keep_signers(uow: UnitOfWork, signed: Iterable[tuple[str, x509.Certificate]], now: datetime) -> None:
    """Keep the certificates receipts about to be stored were signed with, as (agency id, certificate), when
    ``uow`` (the one storing them) commits."""
    unique = {(a, fingerprint(c)): (a, c) for a, c in dict.fromkeys(signed)}.values()  # most are the same object
    repository.keep_certificates(uow, [_kept(agency_id, certificate, now, LOADED) for agency_id, certificate in unique])


def _kept(agency_id: str, certificate: x509.Certificate, now: datetime, origin: str) -> dict[str, Any]:
    """The row that keeps ``certificate`` as one of the agency's."""
    return {
        "agency_id": agency_id,
        "fingerprint": fingerprint(certificate),
        "subject": certificate.subject.rfc4514_string()[:1000],
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "certificate": certificate.public_bytes(serialization.Encoding.DER),
        "origin": origin,
        "recorded_at": now,
    }


async def record_loaded(db: Database, keys: AgencyKeys, now: datetime) -> None:
    """At start: keep the certificate of every key in the folder whose agency exists. Never fails nor holds up
    the start (the transaction storing a receipt records its certificate anyway)."""
    if not keys.agencies:
        return
    try:
        async with asyncio.timeout(START_TIMEOUT_SECONDS), db.transaction() as tx:
            ids = await repository.agency_ids(tx, keys.agencies)
            for code, agency_id in ids.items():
                key = keys.get(code)
                if key is not None:
                    await record(tx, agency_id, key.certificate, now)
    except Exception as error:  # the database may be down at start; the web app and the worker must still start
        log.warning("signing certificates not recorded at start", extra={"error": str(error)})


async def import_certificates(
    db: Database, agency_code: str, certificates: Iterable[x509.Certificate], now: datetime
) -> list[dict[str, Any]]:
    """An operator's word that the agency signed receipts with these certificates (used before this record was
    kept); returns every certificate now kept for the agency. Raises LookupError for an unknown agency."""
    async with db.transaction() as tx:
        agency_id = (await repository.agency_ids(tx, [agency_code])).get(agency_code)
        if agency_id is None:
            raise LookupError(f"no agency with code {agency_code}")
        for certificate in certificates:
            await record(tx, agency_id, certificate, now, IMPORTED)
        rows = await repository.certificates_kept(tx, agency_id)
        return [
            {**row._asdict(), "not_before": row.not_before.isoformat(), "not_after": row.not_after.isoformat()}
            for row in rows
        ]


async def of_agency(conn: AsyncConnection, agency_id: str) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(der) for der in await repository.certificates_of_agency(conn, agency_id)]


async def of_collector(conn: AsyncConnection, tax_code: str) -> Trusted:
    """The certificates of every agency collecting under ``tax_code``."""
    found = await repository.certificates_of_collector(conn, tax_code)
    return {tax_code: [x509.load_der_x509_certificate(der) for der in found]}


async def verify_stored(conn: AsyncConnection, row: StoredReceipt) -> Verification:
    """A stored receipt checked against its own agency's certificates, not the one stored beside it."""
    trusted = {row.tax_code: await of_agency(conn, row.agency_id)}
    return await asyncio.to_thread(verify, row.xml, trusted=trusted)


async def verify_document(db: Database, document: bytes) -> Verification:
    """An uploaded document checked against the certificates of the collector it names (naming another one
    only changes which of our certificates it must have been signed with)."""
    collector = await asyncio.to_thread(claimed_collector, document)
    async with db.read() as conn:
        trusted = await of_collector(conn, collector)
    return await asyncio.to_thread(verify, document, trusted=trusted)
