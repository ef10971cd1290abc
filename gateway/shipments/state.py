"""A shipment's status and what an event from the post does to it: pure rules, no I/O.

The post's own states come mapped from ``adapters.postal.codes`` (the one place the 0–22 codes are read). The
gateway adds two of its own before the post has the parcel: ``booking`` (stored, the post not yet confirmed)
and ``rejected`` (the post refused the order). ``advances`` decides "never backwards"; since it compares ranks
only, the status a shipment ends in does not depend on the order its events arrive in.
"""

from __future__ import annotations

import enum
from datetime import UTC

from adapters.postal import ShipmentState, StatusEvent, advances
from adapters.postal import codes as post_codes

BOOKING = "booking"
REJECTED = "rejected"
STATUSES: tuple[str, ...] = (BOOKING, REJECTED, *(s.value for s in ShipmentState))


class Direction(enum.StrEnum):
    COLLECT_DOSSIER = "collect_dossier"  # citizen → agency
    DELIVER_RESULT = "deliver_result"  # agency → citizen


# Statuses the post may still cancel (before pickup), and the outbox event each status adds to
# ``shipment.status_changed``.
CANCELLABLE = frozenset({ShipmentState.CREATED, ShipmentState.PICKUP_SCHEDULED, ShipmentState.PICKUP_FAILED})
NAMED_EVENTS: dict[str, str] = {
    ShipmentState.CREATED.value: "shipment.booked",
    ShipmentState.PICKED_UP.value: "shipment.picked_up",
    ShipmentState.DELIVERED.value: "shipment.delivered",
    ShipmentState.RETURNED.value: "shipment.returned",
    ShipmentState.CANCELLED.value: "shipment.cancelled",
    ShipmentState.COD_REMITTED.value: "shipment.cod_remitted",
    REJECTED: "shipment.rejected",
}


def post_state(status: str) -> ShipmentState | None:
    """The post's state a shipment is in; ``None`` while booking (any event from the post moves it)."""
    return None if status == BOOKING else ShipmentState(status)


def moves(status: str, event: StatusEvent) -> bool:
    """Whether ``event`` moves a shipment in ``status``: forward only, and nothing moves a rejected one."""
    if status == REJECTED:
        return False
    return advances(post_state(status), event.state)


def cancellable(status: str, status_code: int | None) -> bool:
    """Before pickup, as the post decides it: a cancellable state and a raw code below 6."""
    if status == BOOKING:
        return True
    if status == REJECTED or ShipmentState(status) not in CANCELLABLE:
        return False
    return status_code is None or status_code < post_codes.CANCELLABLE_BELOW


def dedupe_key(event: StatusEvent) -> str:
    """The identity of one event, whatever path brought it: ``<originalId>:<raw status>:<time, UTC seconds>``.

    Not the feed's ``id``: getOrder's history (read after a cancel, or to catch up) carries no id, and a post that
    re-logs an event under a new id must not make it two events. The order, its raw state and the second it was
    reached are what the webhook, the feed and the history all carry identically, and one order cannot reach the
    same raw state twice in one second (a second delivery attempt is a later event). So a repeat, a reordered
    copy or the same event from another path finds the key taken and is recorded once.
    """
    moment = event.time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{event.original_id}:{event.code}:{moment}"


def occurrence(event: StatusEvent) -> tuple[object, ...]:
    """Sort key of events in the order they happened (feed id, then raw code, break ties in one second)."""
    return (event.time, event.event_id or 0, event.code)


# Why a collection the post reports is held for reconciliation instead of taken as money received.
NO_COD_BOOKED = "no_cod_booked"  # the shipment was booked without COD
AMOUNT_MISMATCH = "amount_mismatch"  # another amount than the one booked (none included)
# A shipment in one of these statuses cannot collect: the reason is ``shipment_<status>``.
CANNOT_COLLECT = frozenset(
    {REJECTED, ShipmentState.CANCELLED.value, ShipmentState.RETURNED.value, ShipmentState.RETURNING.value}
)
COLLECT = ""  # the verdict for a collection taken as received


def reports_money(event: StatusEvent) -> bool:
    """Whether ``event`` may report a collection on delivery (only a delivery does)."""
    return event.code == post_codes.DELIVERED


def cod_verdict(status: str, status_code: int | None, booked: int, event: StatusEvent) -> str | None:
    """What a delivered event's ``codAmount`` means for a shipment in ``status`` (before the event) booked with
    ``booked`` đồng of COD: ``None`` when it reports no collection, ``COLLECT`` for money received, else the
    reason it is held. The post's word alone never makes money received: the amount must be the one booked, on a
    shipment that can still collect."""
    if not reports_money(event) or (booked == 0 and event.cod_amount == 0):
        return None
    if booked == 0:
        return NO_COD_BOOKED
    if status in CANNOT_COLLECT:
        return f"shipment_{status}"
    if status_code == post_codes.PICKUP_FAILED_FINAL:
        return "shipment_never_picked_up"
    if event.cod_amount != booked:
        return AMOUNT_MISMATCH
    return COLLECT
