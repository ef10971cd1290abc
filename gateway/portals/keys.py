"""API keys: ``gwk_<key id>.<secret>``. The id finds the row; only SHA-256 of the secret is stored, and it is
compared in constant time. A random 256-bit secret needs no slow hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.ids import new_id

PREFIX = "gwk_"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    token: str  # shown once, never stored
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue() -> IssuedKey:
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    return IssuedKey(
        key_id=key_id, token=f"{PREFIX}{key_id.removeprefix('key_')}.{secret}", secret_hash=hash_secret(secret)
    )


def parse(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed token, else ``None``."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    body, dot, secret = token.removeprefix(PREFIX).partition(".")
    if not dot or not body.isalnum() or len(body) != 26 or not secret:
        return None
    return f"key_{body}", secret


def state(row: Any, now: datetime) -> str:
    """``active``, ``expiring`` (rotated, in its overlap), ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None:
        return "expiring" if row.expires_at > now else "expired"
    return "active"


def usable(row: Any, now: datetime) -> bool:
    return state(row, now) in ("active", "expiring")


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret).encode(), stored_hash.encode())
