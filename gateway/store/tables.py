"""The schema, in SQLAlchemy Core. Migrations under ``migrations/`` must produce exactly this (a test checks)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from .types import BigSerial, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

portals = Table(
    "portals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Set by an operator only: the portal's webhook may reach private networks (gateway/deliveries/addresses.py).
    Column("allow_private_webhooks", Boolean(), nullable=False, server_default="0"),
    # requests per rate window allowed to each of the portal's API keys; NULL: the gateway's default
    Column("rate_limit", Integer),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("label", String(100), nullable=False, server_default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    # set when the key was rotated with an overlap: refused from then on
    Column("expires_at", UTCDateTime()),
)

agencies = Table(
    "agencies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("tax_code", String(14), nullable=False),
    Column("address", String(255), nullable=False),
    Column("treasury_account", String(32), nullable=False),
    Column("treasury_bank_code", String(16), nullable=False),
    Column("treasury_account_name", String(255), nullable=False),
    Column("phone", String(16), nullable=False, server_default=""),
    Column("province_code", String(2)),
    Column("commune_code", String(5)),
    Column("created_at", UTCDateTime(), nullable=False),
)

portal_agencies = Table(
    "portal_agencies",
    metadata,
    Column("portal_id", String(32), ForeignKey("portals.id"), primary_key=True),
    Column("agency_id", String(32), ForeignKey("agencies.id"), primary_key=True),
)

procedures = Table(
    "procedures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(500), nullable=False),
    Column("service_code", String(64), nullable=False, server_default=""),
    Column("service_name", String(500), nullable=False, server_default=""),
    Column("postal_allowed", Boolean(), nullable=False, server_default="1"),
    UniqueConstraint("agency_id", "code"),
)

procedure_fees = Table(
    "procedure_fees",
    metadata,
    Column("procedure_id", String(32), ForeignKey("procedures.id"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("kind", SmallInteger(), nullable=False),
    Column("name", String(255), nullable=False),
    Column("amount", BigInteger()),
)

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

# The outbox. Writers fill the event columns (``outbox.record``). The columns after ``created_at`` belong to event
# delivery (gateway/deliveries, migration 0004) and have defaults, so writers never set them:
# ``txid`` is the writing transaction's id on PostgreSQL (its default, set by migration 0004, is
# ``pg_current_xact_id()``; 0 on SQLite, whose single writer commits in ``position`` order): the feed orders by
# ``(txid, position)`` and serves only transactions older than every running one, so no event is skipped.
# ``dispatch_state`` is pending → delivered | dead | skipped (no webhook); the claim columns lease a row to a worker.
outbox = Table(
    "outbox",
    metadata,
    Column("position", BigSerial, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("sequence", Integer(), nullable=False),
    Column("type", String(48), nullable=False),
    Column("resource_type", String(24), nullable=False),
    Column("resource_id", String(32), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("txid", BigInteger(), nullable=False, server_default="0"),
    Column("dispatch_state", String(16), nullable=False, server_default="pending"),
    Column("attempts", SmallInteger(), nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime()),
    Column("claim_token", String(32)),
    Column("claimed_until", UTCDateTime()),
    Column("delivered_at", UTCDateTime()),
    Column("last_error", String(255), nullable=False, server_default=""),
    UniqueConstraint("portal_id", "dossier_code", "sequence"),
    Index(None, "dispatch_state", "position"),
    Index(None, "portal_id", "txid", "position"),
    Index(None, "portal_id", "dispatch_state", "position"),
)

dossier_sequences = Table(
    "dossier_sequences",
    metadata,
    Column("portal_id", String(32), primary_key=True),
    Column("dossier_code", String(64), primary_key=True),
    Column("last_sequence", Integer(), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("portal_id", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("resource_id", String(32)),
    Column("status_code", SmallInteger()),
    Column("response_body", LargeBinary()),
    Column("locked_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)
