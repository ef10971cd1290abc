"""The ``Gateway-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

While a secret is being rotated every current secret signs, so the header carries one ``v1`` per secret and a
receiver that knows either accepts the event. The timestamp is signed with the body, so a receiver can refuse
old deliveries (replays) by checking it against its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HEADER = "Gateway-Signature"
EVENT_ID_HEADER = "Gateway-Event-Id"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    if not secrets:
        raise ValueError("at least one secret signs")
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets)])


def verify(value: str, body: bytes, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver does; the gateway itself only signs. Kept here for the sample receiver and the docs."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and item.isdigit():
            timestamp = int(item)
        elif key == SCHEME:
            candidates.append(item)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
