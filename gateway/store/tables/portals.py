"""Portals, their API keys and agencies, and each agency's fee catalogue: the tables of ``gateway.portals``."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, SmallInteger, String, Table, UniqueConstraint

from ..types import UTCDateTime
from .metadata import metadata

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
