r"""The portal API's field types: what every request field may hold, derived from the strictest step that carries it.

What the API accepts, every later step must process: the e-receipt (``receipts.codes``: its lengths, the characters
XML can carry, the tax code format) and the post's order (``adapters.postal``). So the limits and character classes
below are taken from there, never restated. They are what the OpenAPI document promises; the request Structs then
build the receipt's own values from what they decoded (``gateway.kernel.receipt_parts``), so the receipt library itself
has the last word, even on what a pattern cannot say (a name that grows past its limit under NFC).

Patterns are anchored with ``\A`` and ``\Z``: msgspec searches (``re.search``) and ``$`` also matches before a
trailing newline, so ``^[0-9]{12}$`` would accept ``"001203004567\n"``.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from receipts import codes as receipt


def exact(pattern: str) -> str:
    """``pattern`` matching the whole value, however the value is searched."""
    return rf"\A(?:{pattern})\Z"


def optional(pattern: str) -> str:
    """``pattern`` matching the whole value, or an empty value."""
    return rf"\A(?:{pattern})?\Z"


# One character a receipt may carry (anything XML 1.0 can, but controls), and free text made of them: optional, or
# required with something besides spaces (a receipt refuses a name that is blank once stripped).
TEXT_CHAR = f"[^{receipt.REFUSED_CHARS}]"
TEXT = exact(f"{TEXT_CHAR}*")
REQUIRED_TEXT = exact(rf"(?=\s*\S){TEXT_CHAR}*")
CODE_CHARS = r"[A-Za-z0-9._/\-]+"

NAME_LENGTH = 255  # names and short texts, as stored (VARCHAR 255)

# Codes of the catalogue and of dossiers: MHSo, MTTHC and MKhoan on the receipt hold at most 50 characters.
Code = Annotated[
    str, Meta(min_length=1, max_length=receipt.MAX_CODE, pattern=exact(CODE_CHARS), description="ASCII code")
]
Name = Annotated[
    str,
    Meta(min_length=1, max_length=NAME_LENGTH, pattern=REQUIRED_TEXT, description="Not blank, no control characters"),
]
Text = Annotated[str, Meta(max_length=NAME_LENGTH, pattern=TEXT, description="Text without control characters")]
Note = Annotated[str, Meta(max_length=500, pattern=TEXT, description="Text without control characters")]
Province = Annotated[str, Meta(max_length=100, pattern=TEXT)]
IdNumber = Annotated[
    str,
    Meta(pattern=optional("[0-9]{9}|[0-9]{12}"), description="CCCD (12 digits) or CMND (9 digits), ASCII digits"),
]
TaxCode = Annotated[str, Meta(pattern=optional(receipt.TAX_CODE_PATTERN.pattern), description="Tax code")]
Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=exact(rf"https?://[^\s{receipt.REFUSED_CHARS}]+"))]
_MAILBOX = rf"[^@\s{receipt.REFUSED_CHARS}]+"
Email = Annotated[str, Meta(max_length=255, pattern=optional(rf"{_MAILBOX}@{_MAILBOX}\.{_MAILBOX}"))]
Phone = Annotated[str, Meta(max_length=20, pattern=exact("[0-9+ ]*"))]
BankCode = Annotated[str, Meta(max_length=16, pattern=exact("[A-Z0-9]*"))]
Ip = Annotated[str, Meta(max_length=45, pattern=exact("[0-9A-Fa-f:.]*"))]

MAX_AMOUNT = 1_000_000_000_000  # one trillion đồng: far above any fee; catches unit mistakes
Amount = Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="Whole đồng, positive")]
