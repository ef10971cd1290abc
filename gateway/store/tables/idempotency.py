"""Idempotency-Key records: the store's own (``gateway.store.idempotency``)."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, SmallInteger, String, Table

from ..types import UTCDateTime
from .metadata import metadata

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
