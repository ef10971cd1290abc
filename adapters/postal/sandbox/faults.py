"""Faults the tests switch on through ``/control/faults``; each one-shot fault counts itself down."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    http_status: int = 0  # answer the next ``http_calls`` partner calls with this status, unprocessed
    http_calls: int = 0
    stall_seconds: float = 0.0  # process the next ``stall_calls`` calls, then hold the reply this long
    stall_calls: int = 0
    garbage_calls: int = 0  # process the next n calls, then answer 200 with an HTML page instead of the reply
    webhook_repeat: int = 0  # push every event this many extra times
    webhook_reorder: bool = False  # push the events of one change newest first
    webhook_bad_signature: bool = False
    webhook_drop: int = 0  # push nothing for the next n events (the feed still has them)
    feed_repeat: bool = False  # start each page with the event at lastId again
    feed_reorder: bool = False  # log the events of one change newest first (ids rise, times fall)
    feed_corrupt: int = 0  # the next n pages are malformed

    def update(self, request: dict[str, Any]) -> None:
        """Apply a ``PUT /control/faults`` body (only the keys it names)."""
        if "http_status" in request:
            self.http_status = int(request["http_status"] or 0)
            self.http_calls = int(request.get("calls", 1)) if self.http_status else 0
        if "stall_seconds" in request:
            self.stall_seconds = float(request["stall_seconds"] or 0)
            self.stall_calls = int(request.get("stall_calls", 1)) if self.stall_seconds else 0
        if "garbage" in request:
            self.garbage_calls = int(request["garbage"] or 0)
        webhook = request.get("webhook") or {}
        self.webhook_repeat = int(webhook.get("repeat", self.webhook_repeat))
        self.webhook_reorder = bool(webhook.get("reorder", self.webhook_reorder))
        self.webhook_bad_signature = bool(webhook.get("bad_signature", self.webhook_bad_signature))
        self.webhook_drop = int(webhook.get("drop", self.webhook_drop))
        feed = request.get("feed") or {}
        self.feed_repeat = bool(feed.get("repeat", self.feed_repeat))
        self.feed_reorder = bool(feed.get("reorder", self.feed_reorder))
        self.feed_corrupt = int(feed.get("corrupt", self.feed_corrupt))

    def take_http_status(self) -> int:
        if self.http_calls <= 0:
            return 0
        self.http_calls -= 1
        return self.http_status

    def take_stall(self) -> float:
        if self.stall_calls <= 0:
            return 0.0
        self.stall_calls -= 1
        return self.stall_seconds

    def take_garbage(self) -> bool:
        if self.garbage_calls <= 0:
            return False
        self.garbage_calls -= 1
        return True

    def take_drop(self) -> bool:
        if self.webhook_drop <= 0:
            return False
        self.webhook_drop -= 1
        return True

    def take_corrupt_page(self) -> bool:
        if self.feed_corrupt <= 0:
            return False
        self.feed_corrupt -= 1
        return True

    def view(self) -> dict[str, Any]:
        return asdict(self)
