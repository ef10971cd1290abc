"""The tables of ``gateway.staff`` (migration ``0009``): finance staff accounts, their agencies, their sessions,
and the append-only audit trail of every staff action.

- ``staff_accounts``: created from the command line; the password is kept as an Argon2id hash only; repeated
  failed sign-ins lock the account until ``locked_until``. ``role`` is viewer, officer or admin.
- ``staff_agencies``: the agencies (by code) an account sees; ``all_agencies`` on the account stands for every one.
- ``staff_sessions``: one row per signed-in browser; only the SHA-256 of the session token is stored, with its
  absolute and idle expiry and the CSRF token bound to it.
- ``staff_audit``: who did what, when, to which subject, with the state before and after. Rows are only ever
  inserted (database triggers refuse updates and deletes).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table

from ..types import BigSerial, UTCDateTime
from .metadata import metadata

staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | officer | admin
    Column("all_agencies", Boolean(), nullable=False, server_default="0"),
    Column("active", Boolean(), nullable=False, server_default="1"),
    Column("failed_sign_ins", Integer(), nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime()),
    Column("password_changed_at", UTCDateTime(), nullable=False),
    Column("last_sign_in_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

staff_agencies = Table(
    "staff_agencies",
    metadata,
    Column("staff_id", String(32), ForeignKey("staff_accounts.id"), primary_key=True),
    Column("agency_code", String(32), primary_key=True),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token, hex
    Column("staff_id", String(32), ForeignKey("staff_accounts.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),  # absolute; idle expiry is counted from last_seen_at
    Column("ended_at", UTCDateTime()),
    Column("client_ip", String(45), nullable=False, server_default=""),
    Index(None, "expires_at"),
)

staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", BigSerial, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),  # staff username, or "system" for the worker's own actions
    Column("action", String(48), nullable=False),  # e.g. break.assigned, break.resolved, sign_in.failed
    Column("subject_type", String(32), nullable=False, server_default=""),
    Column("subject_id", String(64), nullable=False, server_default=""),
    Column("agency_code", String(32), nullable=False, server_default=""),
    Column("before", JSON()),
    Column("after", JSON()),
    Column("note", String(2000), nullable=False, server_default=""),
    Column("client_ip", String(45), nullable=False, server_default=""),
    Index(None, "subject_type", "subject_id"),
    Index(None, "at"),
)

__all__ = ["metadata", "staff_accounts", "staff_agencies", "staff_audit", "staff_sessions"]
