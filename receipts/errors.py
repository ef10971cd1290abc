"""The library's exceptions: one for receipt data we refuse, one for keys and certificates we refuse."""

from __future__ import annotations


class ReceiptError(ValueError):
    """Receipt data that cannot be issued; ``field`` names the offending field (``payer.tax_code``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class SigningKeyError(ValueError):
    """A signing key or certificate we refuse to use: unreadable, expired, mismatched or too weak."""


class SchemaError(ValueError):
    """An XML document that does not follow the receipt schema; the message quotes the first violation."""
