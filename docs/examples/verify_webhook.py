"""Verify a gateway webhook (Python 3.8+, standard library only).

    python verify_webhook.py <secret> <Gateway-Signature header> <file with the raw body>

exits 0 when the signature is valid, 1 when it is not.
"""

import hashlib
import hmac
import sys
import time
from typing import Optional

TOLERANCE_SECONDS = 300  # refuse deliveries signed more than five minutes away from our clock


def verify(header: str, raw_body: bytes, secret: str, now: Optional[float] = None) -> bool:  # noqa: UP045 - runs on Python 3.8
    """True when one v1 signature in the header matches HMAC-SHA256(secret, "<t>.<raw body>") and t is recent."""
    timestamp = None
    signatures = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


if __name__ == "__main__":
    secret, header, path = sys.argv[1:4]
    with open(path, "rb") as f:
        sys.exit(0 if verify(header, f.read(), secret) else 1)
