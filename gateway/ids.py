"""Identifiers: a type prefix and a time-ordered random body, so ids sort by creation and say what they name."""

from __future__ import annotations

import secrets
import time

from adapters.vntime import now_utc, to_vn

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``<prefix>_`` + 10 characters of milliseconds + 16 random characters (a ULID body)."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}".lower()


def new_hub_reference() -> str:
    """``MaThamChieu``: ``PG`` + Vietnam date ``yyMMdd`` + 10 random base32 characters (18 of the 20 allowed)."""
    return f"PG{to_vn(now_utc()):%y%m%d}{_base32(secrets.randbits(50), 10)}"


def new_refund_reference() -> str:
    """``MaYeuCauHoan``: ``RF`` + Vietnam date + 10 random characters."""
    return f"RF{to_vn(now_utc()):%y%m%d}{_base32(secrets.randbits(50), 10)}"
