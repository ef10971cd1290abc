"""The whole schema: every table module, so migrations and their drift check see all tables."""

from __future__ import annotations

from .tables import (  # noqa: F401 - registers
    deliveries,
    idempotency,
    outbox,
    payments,
    portals,
    receipts,
    reconciliation,
    shipments,
    staff,
)
from .tables.metadata import metadata

__all__ = ["metadata"]
