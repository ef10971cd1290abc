"""Finance staff: accounts (created from the command line), sign-in and sessions, roles scoped to agencies, and
the append-only audit trail of what staff do."""

from .audit import SYSTEM, AuditEntry, history, record

__all__ = ["SYSTEM", "AuditEntry", "history", "record"]
