"""Which agencies a caller may see: the one rule every read and write of finance data applies.

A portal's API key sees the agencies the portal acts for; a staff account sees the agencies it was given, or all of
them. Reconciliation data is keyed by the agency's code (the hub's ``MaDonVi``), so a scope is a set of codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AgencyScope:
    codes: frozenset[str] | None  # None: every agency

    @classmethod
    def everything(cls) -> AgencyScope:
        return cls(None)

    @classmethod
    def of(cls, codes: Iterable[str]) -> AgencyScope:
        return cls(frozenset(codes))

    def allows(self, code: str) -> bool:
        return self.codes is None or code in self.codes

    def narrowed(self, code: str | None) -> AgencyScope:
        """The scope limited to one agency (a filter); an agency outside the scope leaves nothing."""
        if code is None:
            return self
        return AgencyScope(frozenset({code}) if self.allows(code) else frozenset())
