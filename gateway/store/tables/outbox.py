"""The transactional outbox and the per-dossier sequences: the store's own (``gateway.store.outbox``); events and
deliveries read it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from ..types import BigSerial, UTCDateTime
from .metadata import metadata

# The outbox. Writers fill the event columns (``UnitOfWork.event``, ``outbox.record_rows``). The columns after
# ``created_at`` belong to event delivery (gateway/deliveries, migration 0004) and have defaults, so writers never
# set them:
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
