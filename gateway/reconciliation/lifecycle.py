"""A break's lifecycle, pure: open → assigned → resolved, and back by reopening. Each change gives the break's new
state or refuses with a stable code; who and when are the caller's to add.

The state is what the audit trail keeps before and after each change: status, assignee, resolution and note.
"""

from __future__ import annotations

import re

import msgspec

from gateway.kernel.errors import Refused

OPEN, ASSIGNED, RESOLVED = "open", "assigned", "resolved"
MANUAL, HUB_QUERY, SETTLED_LATER, CLEARED = "manual", "hub_query", "settled_later", "cleared"
NOTE_MAX = 2000
USERNAME = re.compile(r"[^\x00-\x20\x7f]{1,64}")


class State(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    assigned_to: str = ""
    resolution: str = ""
    note: str = ""


def note_of(text: str | None, *, required: bool) -> str:
    """A note as kept: without surrounding blanks, at most ``NOTE_MAX`` characters; required to resolve by hand."""
    note = (text or "").strip()
    if required and not note:
        raise Refused("invalid_request", "a note is required to resolve a break by hand", field="note")
    if len(note) > NOTE_MAX:
        raise Refused("invalid_request", f"a note has at most {NOTE_MAX} characters", field="note")
    return note


def _unresolved(state: State) -> None:
    if state.status == RESOLVED:
        raise Refused("break_resolved")


def assigned(state: State, to: str) -> State:
    _unresolved(state)
    who = to.strip()
    if not USERNAME.fullmatch(who):
        raise Refused("invalid_request", "name a staff account (1 to 64 characters, no spaces)", field="assigned_to")
    return State(status=ASSIGNED, assigned_to=who)


def unassigned(state: State) -> State:
    _unresolved(state)
    if state.status != ASSIGNED:
        raise Refused("break_not_assigned")
    return State(status=OPEN)


def resolved(state: State, resolution: str, note: str) -> State:
    _unresolved(state)
    return State(status=RESOLVED, assigned_to=state.assigned_to, resolution=resolution, note=note)


def reopened(state: State) -> State:
    if state.status != RESOLVED:
        raise Refused("break_not_resolved")
    return State(status=ASSIGNED if state.assigned_to else OPEN, assigned_to=state.assigned_to)


# What finance staff read for each status and resolution (pages and exports).
STATUS_LABELS = {OPEN: "Chưa xử lý", ASSIGNED: "Đã giao xử lý", RESOLVED: "Đã giải quyết"}
RESOLUTION_LABELS = {
    MANUAL: "Nhân viên giải quyết",
    HUB_QUERY: "Tự động: đã truy vấn Cổng thanh toán",
    SETTLED_LATER: "Tự động: quyết toán trong tệp ngày sau",
    CLEARED: "Tự động: tệp công bố lại không còn sai lệch",
}
