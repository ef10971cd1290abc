"""Delivery records as the portal API shows them: the endpoint with its circuit, the attempt log, the dead
letters and an event's delivery state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from gateway.events import StoredEvent, envelope

from .policy import Breaker
from .repository import AttemptRecord, DeliveryState, Endpoint
from .schemas import AttemptOut, Circuit, DeadLetter, DeliveryStatus, ReplayOut, WebhookOut

CircuitState = Literal["closed", "open", "half_open"]
Outcome = Literal["delivered", "failed"]
State = Literal["pending", "delivered", "dead", "skipped"]


def webhook(found: Endpoint, breaker: Breaker, now: datetime, secret: str | None = None) -> WebhookOut:
    open_until = found.circuit_open_until
    state: CircuitState
    if open_until is not None and open_until > now:
        state = "open"
    elif breaker.half_open(found.consecutive_failures):
        state = "half_open"
    else:
        state = "closed"
    expires = found.previous_expires_at if found.previous_secret and found.previous_expires_at else None
    return WebhookOut(
        url=found.url,
        enabled=found.enabled,
        circuit=Circuit(state=state, consecutive_failures=found.consecutive_failures, open_until=open_until),
        previous_secret_expires_at=expires if expires is not None and expires > now else None,
        created_at=found.created_at,
        updated_at=found.updated_at,
        secret=secret,
    )


def attempt(r: AttemptRecord) -> AttemptOut:
    return AttemptOut(
        id=r.id,
        event_id=r.event_id,
        attempt=r.attempt,
        url=r.url,
        outcome=cast(Outcome, r.outcome),
        status_code=r.status_code,
        latency_ms=r.latency_ms,
        error=r.error,
        attempted_at=r.attempted_at,
    )


def status(state: DeliveryState) -> DeliveryStatus:
    return DeliveryStatus(
        state=cast(State, state.dispatch_state),
        attempts=state.attempts,
        next_attempt_at=state.next_attempt_at,
        delivered_at=state.delivered_at,
        last_error=state.last_error,
    )


def dead_letter(event: StoredEvent, state: DeliveryState) -> DeadLetter:
    return DeadLetter(event=envelope(event), delivery=status(state))


def replayed(event: StoredEvent, state: DeliveryState) -> ReplayOut:
    return ReplayOut(event=envelope(event), delivery=status(state))
