"""Vietnamese phone numbers: one written form (``0xxxxxxxxx``) for every number the post dials.

Mobile numbers have 10 digits with the network prefixes in force since the 2018 renumbering; fixed lines have
11 digits and start with ``02`` followed by the area code.
"""

from __future__ import annotations

import re

from .errors import PhoneError

MOBILE_PREFIXES = frozenset(
    (
        *("032", "033", "034", "035", "036", "037", "038", "039"),
        *("052", "055", "056", "058", "059"),
        *("070", "076", "077", "078", "079"),
        *("081", "082", "083", "084", "085", "086", "087", "088", "089"),
        *("090", "091", "092", "093", "094", "096", "097", "098", "099"),
    )
)
_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_phone(text: str, field: str = "phone") -> str:
    """``text`` as ``0`` followed by the national number; accepts ``+84``, ``84`` and ``0`` prefixes."""
    if not isinstance(text, str):
        raise PhoneError(field, "phone number must be text")
    digits = _SEPARATORS.sub("", text.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isascii() or not digits.isdigit() or not digits.startswith("0"):
        raise PhoneError(field, f"not a Vietnamese phone number: {text!r}")
    if len(digits) == 10 and digits[:3] in MOBILE_PREFIXES:
        return digits
    if len(digits) == 11 and digits.startswith("02"):
        return digits
    if len(digits) == 10:
        raise PhoneError(field, f"{digits[:3]} is not a Vietnamese mobile prefix")
    raise PhoneError(field, f"wrong length for a Vietnamese phone number: {text!r}")
