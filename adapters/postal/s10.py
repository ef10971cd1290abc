"""UPU S10 item codes (``EB123456785VN``): the post's parcel numbers carry a mod-11 check digit.

Checking it catches a mistyped or mangled item code before it reaches a shipment record.
"""

from __future__ import annotations

import re

from .errors import OrderError

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
COUNTRY = "VN"
_PATTERN = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


def check_digit(serial: str) -> int:
    """The check digit of an 8-digit serial number."""
    if len(serial) != 8 or not serial.isascii() or not serial.isdigit():
        raise OrderError("item_code", f"serial must be 8 digits, got {serial!r}")
    remainder = sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True)) % 11
    digit = 11 - remainder
    if digit == 10:
        return 0
    if digit == 11:
        return 5
    return digit


def make(prefix: str, serial: int | str, country: str = COUNTRY) -> str:
    """An item code from a 2-letter service prefix and a serial number below 10**8."""
    text = f"{serial:08d}" if isinstance(serial, int) else serial
    if isinstance(serial, int) and not 0 <= serial < 10**8:
        raise OrderError("item_code", f"serial out of range: {serial}")
    if len(prefix) != 2 or not prefix.isascii() or not prefix.isalpha() or not prefix.isupper():
        raise OrderError("item_code", f"prefix must be 2 capital letters, got {prefix!r}")
    return f"{prefix}{text}{check_digit(text)}{country}"


def is_valid(code: str) -> bool:
    if not isinstance(code, str) or not _PATTERN.fullmatch(code):
        return False
    return check_digit(code[2:10]) == int(code[10])


def validate(code: str) -> str:
    """The code itself if it is a well-formed S10 number with a correct check digit, else ``OrderError``."""
    if not isinstance(code, str) or not _PATTERN.fullmatch(code):
        raise OrderError("item_code", f"not an S10 item code: {code!r}")
    expected = check_digit(code[2:10])
    if expected != int(code[10]):
        raise OrderError("item_code", f"check digit of {code} should be {expected}")
    return code
