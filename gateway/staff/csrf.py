"""The CSRF check of every staff form: the session's token, sent back in a hidden field, compared in constant
time. A form without it, or with another session's, changes nothing."""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def matches(expected: str, submitted: object) -> bool:
    if not expected or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())
