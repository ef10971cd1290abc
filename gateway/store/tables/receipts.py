"""The receipt tables: the number counters, the receipts themselves (migration ``0002_receipts``) and the collected
sources that could not be receipted yet (migration ``0006``).

Two constraints carry the receipt invariants, so they hold whatever the code around them does:

- ``uq_receipts_tax_code_template_series_number``: a number is never given twice in a series;
- ``uq_receipts_source_type_source_id_revision``: a source (a payment, a COD collection) has exactly one
  original receipt (revision 0), and each replacement takes the next revision, so a receipt is issued once
  however many times its job runs, and replaced at most once.

Numbers come from ``receipt_series`` in the transaction that stores the receipt: a rolled-back transaction
gives its number back, so the series has no gaps.

``agency_certificates`` (migration ``0005_agency_certificates``) keeps every certificate an agency has signed
receipts with, current and rotated out: the only certificates a receipt's signature is checked against.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from ..types import UTCDateTime
from .metadata import metadata

receipt_series = Table(
    "receipt_series",
    metadata,
    Column("tax_code", String(14), primary_key=True),
    Column("template", String(5), primary_key=True),
    Column("series", String(3), primary_key=True),
    Column("last_number", Integer(), nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("source_type", String(16), nullable=False),
    Column("source_id", String(32), nullable=False),
    Column("revision", Integer(), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("tax_code", String(14), nullable=False),
    Column("template", String(5), nullable=False),
    Column("series", String(3), nullable=False),
    Column("number", Integer(), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("lookup_code", String(20), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("total", BigInteger(), nullable=False),
    Column("replaces_id", String(32)),
    Column("replaced_by_id", String(32)),
    Column("cancel_reason", String(255), nullable=False, server_default=""),
    Column("cancelled_at", UTCDateTime()),
    Column("data", JSON(), nullable=False),
    Column("xml", LargeBinary(), nullable=False),
    UniqueConstraint("tax_code", "template", "series", "number"),
    UniqueConstraint("source_type", "source_id", "revision"),
    Index(None, "portal_id", "dossier_code"),
)

agency_certificates = Table(
    "agency_certificates",
    metadata,
    Column("agency_id", String(32), ForeignKey("agencies.id"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),  # SHA-256 of the DER certificate, hex
    Column("subject", String(1000), nullable=False),
    Column("not_before", UTCDateTime(), nullable=False),
    Column("not_after", UTCDateTime(), nullable=False),
    Column("certificate", LargeBinary(), nullable=False),  # DER
    Column("origin", String(16), nullable=False),  # "loaded" from the keys folder, or "imported" by an operator
    Column("recorded_at", UTCDateTime(), nullable=False),
)


# A collected source the sweeper could not receipt (no signing key yet, data a receipt cannot carry): why, how often,
# and when to try again. The sweeper skips it until ``retry_at``, so it never holds back the sources behind it; the
# row goes when the receipt is issued. Operators list these with ``gateway receipts unissued``.
unissued_receipts = Table(
    "unissued_receipts",
    metadata,
    Column("source_type", String(16), primary_key=True),
    Column("source_id", String(32), primary_key=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("first_failed_at", UTCDateTime(), nullable=False),
    Column("last_failed_at", UTCDateTime(), nullable=False),
    Column("retry_at", UTCDateTime(), nullable=False),
    Index(None, "retry_at"),
)

__all__ = ["agency_certificates", "metadata", "receipt_series", "receipts", "unissued_receipts"]
