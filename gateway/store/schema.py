"""The whole schema: every table module, so migrations and their drift check see all tables."""

from __future__ import annotations

from .tables import deliveries, idempotency, outbox, payments, portals, receipts, shipments  # noqa: F401 - registers
from .tables.metadata import metadata

__all__ = ["metadata"]
