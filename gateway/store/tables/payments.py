"""Payments, their fee lines, refunds, the hub's results and the ledger: the tables of ``gateway.payments``."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, SmallInteger, String, Table, UniqueConstraint

from ..types import BigSerial, UTCDateTime
from .metadata import metadata

payments = Table(
    "payments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("reference", String(20), nullable=False, unique=True),
    Column("dossier_code", String(64), nullable=False),
    Column("procedure_code", String(64), nullable=False),
    Column("procedure_name", String(500), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("service_name", String(500), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", String(255), nullable=False),
    Column("status", String(24), nullable=False),
    Column("status_reason", String(64), nullable=False, server_default=""),
    Column("payer_name", String(255), nullable=False),
    Column("payer_id_number", String(20), nullable=False, server_default=""),
    Column("payer_address", String(255), nullable=False, server_default=""),
    Column("payer_province", String(100), nullable=False, server_default=""),
    Column("payer_email", String(255), nullable=False, server_default=""),
    Column("payer_phone", String(20), nullable=False, server_default=""),
    Column("client_ip", String(45), nullable=False, server_default=""),
    Column("return_url", String(2000), nullable=False),
    Column("checkout_url", String(2000)),
    Column("bank_code", String(16), nullable=False, server_default=""),
    Column("hub_transaction_id", String(64)),
    Column("paid_amount", BigInteger(), nullable=False, server_default="0"),
    Column("refunded_amount", BigInteger(), nullable=False, server_default="0"),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("paid_at", UTCDateTime()),
    Column("checked_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "portal_id", "dossier_code"),
    Index(None, "status", "checked_at"),
)


payment_lines = Table(
    "payment_lines",
    metadata,
    Column("payment_id", String(32), ForeignKey("payments.id"), primary_key=True),
    Column("position", SmallInteger(), primary_key=True),
    Column("kind", SmallInteger(), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("amount", BigInteger(), nullable=False),
)


refunds = Table(
    "refunds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("payment_id", String(32), ForeignKey("payments.id"), nullable=False, index=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("amount", BigInteger(), nullable=False),
    Column("reason", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("hub_code", String(8), nullable=False, server_default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime()),
    Index(None, "status", "updated_at"),
)


hub_results = Table(
    "hub_results",
    metadata,
    Column("id", BigSerial, primary_key=True, autoincrement=True),
    Column("reference", String(20), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("raw_code", String(8), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("amount", BigInteger()),
    Column("transaction_id", String(64), nullable=False, server_default=""),
    Column("disposition", String(24), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)


ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigSerial, primary_key=True, autoincrement=True),
    Column("entry_group", String(64), nullable=False),
    Column("account", String(64), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    Column("payment_id", String(32), ForeignKey("payments.id"), nullable=False, index=True),
    Column("refund_id", String(32), ForeignKey("refunds.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("entry_group", "account"),
)
