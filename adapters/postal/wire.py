"""Reading the post's JSON: shared decoding and value checks for every message (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import msgspec

from adapters import jsonwire
from adapters.vntime import parse_local

from . import codes, s10
from .errors import PostalProtocolError, PostalRejected

_T = TypeVar("_T")


def parse_amount(value: int | str, field: str = "amount") -> int:
    """Whole đồng (or grams) from either wire form: an integer or a digit string."""
    if isinstance(value, bool):
        raise PostalProtocolError(f"{field} is a boolean")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        amount = int(value)
    else:
        raise PostalProtocolError(f"{field} is not a whole number: {value!r}")
    if amount < 0:
        raise PostalProtocolError(f"{field} is negative")
    return amount


def parse_time(text: str, field: str = "time") -> datetime:
    try:
        return parse_local(text)
    except (TypeError, ValueError) as exc:
        raise PostalProtocolError(f"{field} is not yyyy-MM-ddTHH:mm:ss: {text!r}") from exc


def decode(body: bytes, kind: type[_T]) -> _T:
    """Decode a reply: ``success: false`` is the post's refusal, anything unreadable a protocol error."""
    try:
        jsonwire.check(body)
        message = msgspec.json.decode(body)
    except jsonwire.UnsafeJson as exc:
        raise PostalProtocolError(f"reply refused: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PostalProtocolError(f"reply is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise PostalProtocolError("reply is not a JSON object")
    success = message.get("success", True)
    if success is False:
        raise PostalRejected(str(message.get("errorCode") or "UNKNOWN"), str(message.get("message") or ""))
    if success is not True:
        raise PostalProtocolError(f"success must be a boolean, got {success!r}")
    try:
        return msgspec.convert(message, kind)
    except msgspec.ValidationError as exc:
        raise PostalProtocolError(f"malformed reply: {exc}") from exc


def raise_refusal(body: bytes) -> None:
    """Raise ``PostalRejected`` if ``body`` is the post's ``{success: false, errorCode, message}``."""
    try:
        jsonwire.check(body)
        message = msgspec.json.decode(body)
    except (jsonwire.UnsafeJson, msgspec.DecodeError):
        return
    if isinstance(message, dict) and message.get("success") is False:
        raise PostalRejected(str(message.get("errorCode") or "UNKNOWN"), str(message.get("message") or ""))


def known_status(code: int) -> codes.PostStatus:
    try:
        return codes.status(code)
    except KeyError:
        raise PostalProtocolError(f"unknown status {code!r} (the post uses 0–22)") from None


def item_code(code: str) -> str:
    if not s10.is_valid(code):
        raise PostalProtocolError(f"item code {code!r} is not a valid S10 number")
    return code
