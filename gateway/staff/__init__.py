"""Finance staff: accounts (created from the command line), sign-in and sessions, roles scoped to agencies, and
the append-only audit trail of what staff do.

The public surface: the accounts' use cases (``create_account``, ``change_password``, ``set_active``,
``accounts``), sign-in and sessions (``StaffSessions``, ``SessionPolicy``, ``SignInRefused``), the signed-in
``StaffMember`` with its role's permissions (``roles``), the CSRF check of staff forms (``csrf``), password hashing
(``Passwords``), and the audit trail (``record``, ``history``; also as ``audit.record``, ``audit.history``)."""

from . import audit, csrf, roles
from .accounts import AccountError, change_password, set_active
from .accounts import create as create_account
from .accounts import listing as accounts
from .audit import SYSTEM, AuditEntry, history, record
from .passwords import Passwords, WeakPassword
from .records import StaffAccount, StaffMember
from .sessions import SessionPolicy, SignedIn, SignInRefused, StaffSessions

__all__ = [
    "SYSTEM",
    "AccountError",
    "AuditEntry",
    "Passwords",
    "SessionPolicy",
    "SignInRefused",
    "SignedIn",
    "StaffAccount",
    "StaffMember",
    "StaffSessions",
    "WeakPassword",
    "accounts",
    "audit",
    "change_password",
    "create_account",
    "csrf",
    "history",
    "record",
    "roles",
    "set_active",
]
