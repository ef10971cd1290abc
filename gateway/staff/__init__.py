"""Finance staff: accounts (created from the command line), sign-in and sessions, roles scoped to agencies, and
the append-only audit trail of what staff do.

The public surface: the accounts' use cases (``create_account``, ``change_password``, ``set_active``,
``change_access``, ``accounts``), who a break of an agency may be assigned to (``break_assignee``) and the port
through which a change of an account's access takes back the work it may no longer do (``AssignedWork``), sign-in
and sessions (``StaffSessions``, ``SessionPolicy``, ``SignInRefused``), the signed-in ``StaffMember`` with its
role's permissions (``roles``, ``ROLE_LABELS``), the CSRF check of staff forms (``csrf_matches``, ``new_csrf_token``,
``CSRF_FIELD``), password hashing (``Passwords``), and the audit trail (``record``, ``history``)."""

from . import audit, csrf, roles
from .accounts import AccountError, AssignedWork, break_assignee, change_access, change_password, set_active
from .accounts import create as create_account
from .accounts import listing as accounts
from .audit import SYSTEM, AuditEntry, history, record
from .csrf import FIELD as CSRF_FIELD
from .csrf import matches as csrf_matches
from .csrf import new_token as new_csrf_token
from .passwords import Passwords, WeakPassword
from .records import StaffAccount, StaffMember
from .roles import LABELS as ROLE_LABELS
from .sessions import SessionPolicy, SignedIn, SignInRefused, StaffSessions

__all__ = [
    "CSRF_FIELD",
    "ROLE_LABELS",
    "SYSTEM",
    "AccountError",
    "AssignedWork",
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
    "break_assignee",
    "change_access",
    "change_password",
    "create_account",
    "csrf",
    "csrf_matches",
    "history",
    "new_csrf_token",
    "record",
    "roles",
    "set_active",
]
