"""Verify a gateway webhook (Python 3.8+, standard library only).

    python verify_webhook.py <secret> <Gateway-Signature header> <file with the raw body>

exits 0 when the signature is valid, 1 when it is not (a malformed header is simply not valid).
"""

import hashlib
import hmac
import re
import sys
import time
from typing import Optional

TOLERANCE_SECONDS = 300  # refuse deliveries signed more than five minutes away from our clock
MAX_HEADER = 1000  # a header carries one timestamp and one or two signatures: far less than this
TIMESTAMP = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() would take "²" or "١٢٣"
SIGNATURE = re.compile(r"[0-9a-f]{64}")  # lower-case hex of HMAC-SHA256


def verify(header: str, raw_body: bytes, secret: str, now: Optional[float] = None) -> bool:  # noqa: UP045 - runs on Python 3.8
    """True when one v1 signature in the header matches HMAC-SHA256(secret, "<t>.<raw body>") and t is recent.
    Anything malformed (non-ASCII, a missing or repeated t, a signature that is not 64 hex digits) is False."""
    if not isinstance(header, str) or len(header) > MAX_HEADER or not header.isascii() or not header.isprintable():
        return False
    timestamps = []
    signatures = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not key or not sep:
            return False
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not TIMESTAMP.fullmatch(timestamps[0]):
        return False
    if not signatures or not all(SIGNATURE.fullmatch(s) for s in signatures):
        return False
    if abs((time.time() if now is None else now) - int(timestamps[0])) > TOLERANCE_SECONDS:
        return False
    message = timestamps[0].encode("ascii") + b"." + raw_body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode("ascii")
    return any(hmac.compare_digest(expected, s.encode("ascii")) for s in signatures)


if __name__ == "__main__":
    secret, header, path = sys.argv[1:4]
    with open(path, "rb") as f:
        sys.exit(0 if verify(header, f.read(), secret) else 1)
