"""The staff area's records: an account, and the signed-in staff member a page works for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.kernel.scope import AgencyScope

from . import roles


@dataclass(frozen=True)
class StaffAccount:
    id: str
    username: str
    display_name: str
    role: str
    all_agencies: bool
    agencies: tuple[str, ...]
    active: bool
    failed_sign_ins: int
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime

    @property
    def scope(self) -> AgencyScope:
        return AgencyScope.everything() if self.all_agencies else AgencyScope.of(self.agencies)


@dataclass(frozen=True)
class StaffMember:
    """Who a signed-in request acts for: the account, its scope, and its session's CSRF token."""

    account_id: str
    username: str
    display_name: str
    role: str
    scope: AgencyScope
    agencies: tuple[str, ...]  # the codes named on the account (empty when it sees every agency)
    csrf_token: str
    session_hash: str

    def may(self, permission: str) -> bool:
        return roles.may(self.role, permission)

    @property
    def can_work_breaks(self) -> bool:
        return self.may(roles.WORK_BREAKS)

    @property
    def can_run(self) -> bool:
        """A run reconciles a whole file, every agency's lines: only an admin of every agency starts one."""
        return self.may(roles.RUN_RECONCILIATION) and self.scope.codes is None
