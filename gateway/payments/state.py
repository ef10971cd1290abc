"""The payment state machine: pure, no I/O. Every change of a payment's status goes through ``next_status``.

    created ──init ok──▶ pending ──paid──▶ paid ──refund──▶ partially_refunded ──▶ refunded
       │                   │ ╲──failed / cancelled by citizen / expired / cancelled by portal
       └──rejected─▶ failed│
Money that the hub says it took is never refused: a ``paid`` result for a payment that already failed, expired or
was cancelled still records it (``late``), so finance can refund it. The hub's query has one state, "4", for "expired
or cancelled", so ``expired`` may be its word for a citizen's cancellation: the callback that names the cancellation
refines it to ``cancelled``, whichever of the two came first. Nothing else leaves a final state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from adapters.payhub import Outcome


class Status(enum.StrEnum):
    CREATED = "created"  # stored; the hub has not confirmed the order yet
    PENDING = "pending"  # the hub has the order; the citizen may pay at checkout_url
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Event(enum.StrEnum):
    INIT_ACCEPTED = "init_accepted"
    INIT_REJECTED = "init_rejected"
    HUB_PAID = "hub_paid"
    HUB_FAILED = "hub_failed"
    HUB_CANCELLED = "hub_cancelled"
    HUB_EXPIRED = "hub_expired"
    PORTAL_CANCEL = "portal_cancel"
    EXPIRE = "expire"
    REFUND_PARTIAL = "refund_partial"
    REFUND_FULL = "refund_full"


UNPAID = frozenset({Status.CREATED, Status.PENDING})
COLLECTED = frozenset({Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED})
UNPAID_FINAL = frozenset({Status.FAILED, Status.CANCELLED, Status.EXPIRED})
REFUNDABLE = frozenset({Status.PAID, Status.PARTIALLY_REFUNDED})


def may_have_refunds(status: Status) -> bool:
    """Refunds are made of collected money only, and collected money never becomes unpaid again: a payment that was
    never collected has none, and its refunds need not be read."""
    return status in COLLECTED


_TABLE: dict[tuple[Status, Event], Status] = {
    (Status.CREATED, Event.INIT_ACCEPTED): Status.PENDING,
    (Status.CREATED, Event.INIT_REJECTED): Status.FAILED,
    (Status.CREATED, Event.PORTAL_CANCEL): Status.CANCELLED,
    (Status.PENDING, Event.PORTAL_CANCEL): Status.CANCELLED,
    (Status.PAID, Event.REFUND_PARTIAL): Status.PARTIALLY_REFUNDED,
    (Status.PAID, Event.REFUND_FULL): Status.REFUNDED,
    (Status.PARTIALLY_REFUNDED, Event.REFUND_PARTIAL): Status.PARTIALLY_REFUNDED,
    (Status.PARTIALLY_REFUNDED, Event.REFUND_FULL): Status.REFUNDED,
}
for _s in UNPAID:
    _TABLE[(_s, Event.HUB_PAID)] = Status.PAID
    _TABLE[(_s, Event.HUB_FAILED)] = Status.FAILED
    _TABLE[(_s, Event.HUB_CANCELLED)] = Status.CANCELLED
    _TABLE[(_s, Event.HUB_EXPIRED)] = Status.EXPIRED
    _TABLE[(_s, Event.EXPIRE)] = Status.EXPIRED
for _s in UNPAID_FINAL:
    _TABLE[(_s, Event.HUB_PAID)] = Status.PAID  # late: money moved, record it
_TABLE[(Status.EXPIRED, Event.HUB_CANCELLED)] = Status.CANCELLED  # the query's "4" made precise

HUB_EVENTS: dict[Outcome, Event] = {
    Outcome.PAID: Event.HUB_PAID,
    Outcome.FAILED: Event.HUB_FAILED,
    Outcome.CANCELLED: Event.HUB_CANCELLED,
    Outcome.EXPIRED: Event.HUB_EXPIRED,
}


def hub_reason(outcome: Outcome) -> str:
    """The ``status_reason`` of a payment the hub's ``outcome`` moved (a late payment's is ``late_after_…``)."""
    return f"hub_{outcome.value}"


class IllegalTransition(Exception):
    def __init__(self, status: Status, event: Event) -> None:
        super().__init__(f"{event.value} is not allowed in status {status.value}")
        self.status = status
        self.event = event


def next_status(status: Status, event: Event) -> Status:
    try:
        return _TABLE[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def allowed(status: Status, event: Event) -> bool:
    return (status, event) in _TABLE


@dataclass(frozen=True)
class Decision:
    """What a result from the hub does to a payment: move it (``event``), or change nothing (``reason``)."""

    event: Event | None
    reason: str = ""

    @property
    def changes(self) -> bool:
        return self.event is not None


def decide_hub_result(status: Status, outcome: Outcome) -> Decision:
    """The one rule for applying the hub's word, whether it came by callback or by query."""
    if status in COLLECTED:
        return Decision(None, "already_collected")
    event = HUB_EVENTS.get(outcome)
    if event is None:  # not_paid, processing, refunded, unknown_reference: nothing to record
        return Decision(None, f"no_change_{outcome.value}")
    if not allowed(status, event):
        return Decision(None, "already_final")
    return Decision(event)


def refund_event(paid_amount: int, refunded_after: int) -> Event:
    if refunded_after > paid_amount:
        raise ValueError("refunds exceed the amount paid")
    return Event.REFUND_FULL if refunded_after == paid_amount else Event.REFUND_PARTIAL
