"""Portals, their API keys and the agencies they act for, with each agency's fee catalogue.

The public surface: checking a portal's API key (``authenticate``, and the revocation counter every process reads,
``revocation_count``), the catalogue checks other areas make on a request (``agency_of``, ``procedure_of``,
``fees_of``, the last two at once: ``procedure_and_fees``, ``check_fee_lines``, ``check_postal``), an agency by its
id (``agency_by_id``, ``agency_code``; every agency's code: ``agency_codes``), whether a portal's webhook may reach
private networks, and an operator's set-up of portals and agencies.
"""

from .catalogue import (
    FeeLine,
    agency_by_id,
    agency_code,
    agency_codes,
    agency_of,
    check_fee_lines,
    check_postal,
    fees_of,
    procedure_and_fees,
    procedure_of,
)
from .repository import allows_private_webhooks
from .revocations import announce as announce_revocation
from .revocations import current as revocation_count
from .revocations import read_in as read_revocations_in
from .revocations import unreadable as revocations_unreadable
from .service import authenticate, create_portal, issue_key, portal_named, set_private_webhooks, upsert_agency
from .specs import AgencySpec, Fee, Procedure

__all__ = [
    "AgencySpec",
    "Fee",
    "FeeLine",
    "Procedure",
    "agency_by_id",
    "agency_code",
    "agency_codes",
    "agency_of",
    "allows_private_webhooks",
    "announce_revocation",
    "authenticate",
    "check_fee_lines",
    "check_postal",
    "create_portal",
    "fees_of",
    "issue_key",
    "portal_named",
    "procedure_and_fees",
    "procedure_of",
    "read_revocations_in",
    "revocation_count",
    "revocations_unreadable",
    "set_private_webhooks",
    "upsert_agency",
]
