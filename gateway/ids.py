"""Identifiers: a type prefix and a time-ordered random body, so ids sort by creation and say what they name."""

from __future__ import annotations

import secrets
import time

from adapters.vntime import now_utc, to_vn

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


# every pair of lower-case Crockford characters, by the 10 bits it writes
_PAIRS = tuple(a + b for a in _ALPHABET.lower() for b in _ALPHABET.lower())
_BODY_SHIFTS = tuple(range(120, -1, -10))  # the 130 bits of a ULID body, 10 at a time, the most significant first


def _base32(value: int, length: int) -> str:
    """``value`` (below 32 ** ``length``) in ``length`` Crockford base32 digits, the most significant first."""
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``<prefix>_`` + 10 characters of milliseconds + 16 random characters (a ULID body), in lower case."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_ulid_body(millis, secrets.randbits(80))}"


def _ulid_body(millis: int, random: int) -> str:
    """``_base32(millis, 10) + _base32(random, 16)`` in lower case, two characters at a time (a third of the cost
    of ``_base32``'s loop, on every row an id names)."""
    bits = millis << 80 | random
    return "".join([_PAIRS[(bits >> shift) & 1023] for shift in _BODY_SHIFTS])


def new_hub_reference() -> str:
    """``MaThamChieu``: ``PG`` + Vietnam date ``yyMMdd`` + 10 random base32 characters (18 of the 20 allowed)."""
    return f"PG{to_vn(now_utc()):%y%m%d}{_base32(secrets.randbits(50), 10)}"


def new_refund_reference() -> str:
    """``MaYeuCauHoan``: ``RF`` + Vietnam date + 10 random characters."""
    return f"RF{to_vn(now_utc()):%y%m%d}{_base32(secrets.randbits(50), 10)}"
