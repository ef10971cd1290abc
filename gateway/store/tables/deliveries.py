"""The delivery tables (migration ``0004_deliveries``): each portal's webhook endpoint and every delivery attempt.

The delivery state of each event lives on its outbox row (see the note above ``outbox`` in ``tables.py``); these
tables hold what is per portal (where to send, the signing secrets, the circuit breaker) and the attempt log.
Secrets are stored encrypted (``gateway/deliveries/secret_box.py``), never in clear.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, SmallInteger, String, Table

from ..types import BigSerial, UTCDateTime
from .metadata import metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("portal_id", String(32), ForeignKey("portals.id"), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("enabled", Boolean(), nullable=False, server_default="1"),
    Column("secret", String(400), nullable=False),
    Column("previous_secret", String(400)),
    Column("previous_expires_at", UTCDateTime()),
    Column("consecutive_failures", Integer(), nullable=False, server_default="0"),
    Column("circuit_open_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigSerial, primary_key=True, autoincrement=True),
    Column("portal_id", String(32), nullable=False),
    Column("event_id", String(32), nullable=False, index=True),
    Column("attempt", SmallInteger(), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", SmallInteger()),
    Column("latency_ms", Integer(), nullable=False),
    Column("error", String(255), nullable=False, server_default=""),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Index(None, "portal_id", "id"),
)

__all__ = ["delivery_attempts", "metadata", "webhook_endpoints"]
