"""A break's trail shows what it recorded of our record only to the agency whose record it was at the time: a newer
run that pairs the break with another agency's record must not hand the first agency's facts to the second."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.kernel.scope import AgencyScope
from gateway.reconciliation.queries import _record_facts_for
from gateway.staff.audit import AuditEntry

AT = datetime(2026, 12, 1, 2, tzinfo=UTC)


def _entry(n: int, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> AuditEntry:
    return AuditEntry(
        id=n, at=AT, actor="system", action=action, subject_type="break", subject_id="rcb_1",
        agency_code="B", before=before, after=after, note="", client_ip="",
    )


HISTORY = [
    _entry(1, "break.assigned", {"status": "open"}, {"status": "assigned"}),
    _entry(
        2, "break.facts_changed", {"our_id": "pay_a", "our_amount": 50_000}, {"our_id": "pay_a2", "our_amount": 60_000}
    ),
    _entry(
        3,
        "break.facts_changed",
        {"our_agency_code": "A", "our_id": "pay_a2", "our_amount": 60_000},
        {"our_agency_code": "C", "our_id": "pay_c", "our_amount": 70_000},
    ),
    _entry(4, "break.facts_changed", {"our_amount": 70_000}, {"our_amount": 71_000}),
]


def _shown(scope: AgencyScope) -> list[tuple[object, object]]:
    judged = _record_facts_for(scope, HISTORY, "C")
    return [((e.before or {}).get("our_id"), (e.after or {}).get("our_amount")) for e in judged]


def test_each_entry_is_shown_to_the_agency_of_its_own_time() -> None:
    # C's staff: the entry after the change (C's record) only; A's facts before it are withheld
    assert _shown(AgencyScope.of(["C"])) == [(None, None), (None, None), (None, None), (None, 71_000)]
    # A's staff: A's entries, not the change to C's record nor C's own
    assert _shown(AgencyScope.of(["A"])) == [(None, None), ("pay_a", 60_000), (None, None), (None, None)]
    # staff of both, or of every agency: everything
    everything = [(None, None), ("pay_a", 60_000), ("pay_a2", 70_000), (None, 71_000)]
    assert _shown(AgencyScope.of(["A", "C"])) == everything == _shown(AgencyScope.everything())
    # the line's agency alone: nothing of any record
    assert _shown(AgencyScope.of(["B"])) == [(None, None)] * 4
    assert [e.action for e in _record_facts_for(AgencyScope.of(["B"]), HISTORY, "C")] == [e.action for e in HISTORY]
