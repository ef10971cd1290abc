"""The delivery tables (added by migration; see ``migrations/versions``)."""

from __future__ import annotations

from .tables import metadata

__all__ = ["metadata"]
