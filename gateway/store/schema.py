"""The whole schema: every table module, so migrations and their drift check see all tables."""

from __future__ import annotations

from . import delivery_tables, receipt_tables, shipment_tables  # noqa: F401 - registers their tables
from .tables import metadata

__all__ = ["metadata"]
