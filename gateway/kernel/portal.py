"""Who is calling the portal API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PortalContext:
    """Who is calling: a portal and the agencies it may act for."""

    portal_id: str
    key_id: str
    agency_ids: frozenset[str]
    key_expires_at: datetime | None = None  # the end of a rotated key's overlap
    rate_limit: int | None = None  # the portal's own request limit per window; None: the gateway's default
