"""The portal API's webhook and delivery messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.events import EventOut

WebhookUrl = Annotated[str, Meta(min_length=8, max_length=2000, description="http(s) URL that receives events")]


class PutWebhook(msgspec.Struct, forbid_unknown_fields=True):
    url: WebhookUrl
    enabled: bool = True


class RotateSecret(msgspec.Struct, forbid_unknown_fields=True):
    overlap_seconds: (
        Annotated[int, Meta(ge=0, le=7 * 86400, description="How long the old secret keeps signing (default one day)")]
        | None
    ) = None


class ReplayDeadLetters(msgspec.Struct, forbid_unknown_fields=True):
    since: Annotated[datetime, Meta(tz=True, description="Replay dead letters of events created at or after this")]


class Circuit(msgspec.Struct):
    state: Literal["closed", "open", "half_open"]
    consecutive_failures: int
    open_until: datetime | None


class WebhookOut(msgspec.Struct):
    url: str
    enabled: bool
    circuit: Circuit
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    secret: str | None = msgspec.field(default=None)  # shown only when made: on creation and on rotation


class AttemptOut(msgspec.Struct):
    id: int
    event_id: str
    attempt: int
    url: str
    outcome: Literal["delivered", "failed"]
    status_code: int | None
    latency_ms: int
    error: str
    attempted_at: datetime


class AttemptPage(msgspec.Struct):
    data: list[AttemptOut]
    next_cursor: str | None


class DeliveryStatus(msgspec.Struct):
    state: Literal["pending", "delivered", "dead", "skipped"]
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str


class DeadLetter(msgspec.Struct):
    event: EventOut
    delivery: DeliveryStatus


class DeadLetterPage(msgspec.Struct):
    data: list[DeadLetter]
    next_cursor: str | None


class ReplayOut(msgspec.Struct):
    event: EventOut
    delivery: DeliveryStatus


class ReplayCount(msgspec.Struct):
    replayed: int


class TestDelivery(msgspec.Struct):
    event_id: str
    outcome: Literal["delivered", "failed"]
    status_code: int | None
    latency_ms: int
    error: str
