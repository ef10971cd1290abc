"""The ``Gateway-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

While a secret is being rotated every current secret signs, so the header carries one ``v1`` per secret and a
receiver that knows either accepts the event. The timestamp is signed with the body, so a receiver can refuse
old deliveries (replays) by checking it against its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

HEADER = "Gateway-Signature"
EVENT_ID_HEADER = "Gateway-Event-Id"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
MAX_HEADER = 1000
_TIMESTAMP = re.compile(r"[0-9]{1,18}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    if not secrets:
        raise ValueError("at least one secret signs")
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets)])


def verify(value: str, body: bytes, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver does; the gateway itself only signs. Kept here for the sample receiver and the docs, with
    the documented examples' rules: anything malformed (non-ASCII, a missing or repeated ``t``, a signature that
    is not 64 lower-case hex digits) is simply not valid."""
    if len(value) > MAX_HEADER or not (value.isascii() and value.isprintable()):
        return False
    stamps: list[str] = []
    candidates: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not key or not sep:
            return False
        if key == "t":
            stamps.append(item)
        elif key == SCHEME:
            candidates.append(item)
    if len(stamps) != 1 or not _TIMESTAMP.fullmatch(stamps[0]) or abs(now - int(stamps[0])) > tolerance:
        return False
    if not candidates or not all(_SIGNATURE.fullmatch(c) for c in candidates):
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest().encode()
    return any(hmac.compare_digest(expected, c.encode()) for c in candidates)
