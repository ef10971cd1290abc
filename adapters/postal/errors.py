"""Every error of the postal adapter, in one hierarchy.

Two families: bad input we refuse before anything is sent (``InputError`` and its kinds, each naming the
field), and what happened talking to the post. Like the payment hub's client, the latter separates a definite
refusal (``PostalRejected``), a request that never left (``PostalUnavailable``) and a request that may have
been acted on (``OutcomeUnknown``: find out with ``getOrder`` or by repeating the idempotent ``CreateOrder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PostalError(Exception):
    """Base of every error of the postal adapter."""


class InputError(PostalError, ValueError):
    """Input we refuse before talking to the post; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AddressError(InputError):
    """An address we cannot place in the 2025 units; ``candidates`` lists the units it could mean."""

    def __init__(self, field: str, message: str, candidates: Sequence[Any] = ()) -> None:
        super().__init__(field, message)
        self.candidates = tuple(candidates)


class PhoneError(InputError):
    """Not a Vietnamese phone number."""


class OrderError(InputError):
    """An order the post would refuse: weight, COD above the limit, service, item code."""


class PostalProtocolError(PostalError):
    """A message from the post that cannot be read or trusted: bad JSON, missing field, impossible value."""


class PostalRejected(PostalError):
    """The post definitely refused the request (``errorCode`` and ``message`` as it sent them)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"post refused with {code}: {message}")
        self.code = code
        self.message = message


class PostalUnavailable(PostalError):
    """The request was not delivered (connection refused, DNS, pool timeout): safe to retry at once."""


class OutcomeUnknown(PostalError):
    """The request was sent but no trustworthy answer came back (timeout, 5xx, unreadable reply)."""


class WebhookRejected(PostalError):
    """A pushed event we refuse; ``reason`` is one of ``malformed``, ``stale``, ``bad_signature``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
