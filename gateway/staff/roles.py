"""What each staff role may do. A viewer reads; an officer also assigns and resolves breaks; an admin also runs a
reconciliation by hand. Every one of them only within the account's agencies."""

from __future__ import annotations

VIEWER, OFFICER, ADMIN = "viewer", "officer", "admin"
ROLES = (VIEWER, OFFICER, ADMIN)

READ = "read"
WORK_BREAKS = "work_breaks"
RUN_RECONCILIATION = "run_reconciliation"

GRANTS: dict[str, frozenset[str]] = {
    VIEWER: frozenset({READ}),
    OFFICER: frozenset({READ, WORK_BREAKS}),
    ADMIN: frozenset({READ, WORK_BREAKS, RUN_RECONCILIATION}),
}

LABELS = {VIEWER: "Xem", OFFICER: "Cán bộ đối soát", ADMIN: "Quản trị"}


def may(role: str, permission: str) -> bool:
    return permission in GRANTS.get(role, frozenset())
