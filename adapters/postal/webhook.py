"""The post's signed push: ``X-Postal-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.

Several ``v1`` may be present while a secret is rotated, and the receiver may hold several secrets too: one
match between any of them is enough. A ``t`` outside the tolerance (300 s either way) is refused, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime

from .errors import WebhookRejected

HEADER = "X-Postal-Signature"
TOLERANCE_SECONDS = 300
MAX_HEADER_LENGTH = 2048


def signature(secret: str, t: int, body: bytes) -> str:
    message = str(t).encode() + b"." + body
    return hmac.digest(secret.encode(), message, "sha256").hex()  # the one-shot HMAC, without an HMAC object


def sign(secret: str | Sequence[str], t: int, body: bytes) -> str:
    """The header value for ``body`` at unix time ``t``; one ``v1`` per secret when given several."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("at least one secret is needed")
    return ",".join([f"t={t}", *(f"v1={signature(s, t, body)}" for s in secrets)])


def parse_header(header: str) -> tuple[int, list[str]]:
    if not isinstance(header, str) or not header or len(header) > MAX_HEADER_LENGTH:
        raise WebhookRejected("malformed", "missing or oversized signature header")
    t: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookRejected("malformed", f"signature element without '=': {part!r}")
        if key == "t":
            if t is not None or not value.isascii() or not value.isdigit():
                raise WebhookRejected("malformed", "t must appear once, as unix seconds")
            t = int(value)
        elif key == "v1":
            signatures.append(value.lower())
    if t is None or not signatures:
        raise WebhookRejected("malformed", "signature header needs t and at least one v1")
    return t, signatures


def verify(
    header: str,
    body: bytes,
    secrets: Sequence[str],
    now: datetime | int,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Return quietly if one ``v1`` matches one secret within the time window; else ``WebhookRejected``."""
    t, signatures = parse_header(header)
    now_s = int(now.timestamp()) if isinstance(now, datetime) else int(now)
    if abs(now_s - t) > tolerance:
        raise WebhookRejected("stale", f"t={t} is {now_s - t} s away from now (tolerance {tolerance} s)")
    matched = False
    for secret in secrets:
        expected = signature(secret, t, body).encode()
        for candidate in signatures:
            # compare every pair so the time taken does not tell which one matched
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise WebhookRejected("bad_signature", "no v1 matches a current secret")
