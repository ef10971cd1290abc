"""Vietnam time: the zone every partner protocol writes its times in, and the business day of a moment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COMPACT = "%Y%m%d%H%M%S"


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_vn(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry their zone")
    return moment.astimezone(VN_TZ)


def business_day(moment: datetime) -> date:
    """The Vietnam calendar day a moment falls on: the unit of settlement, series years and reports."""
    return to_vn(moment).date()


def format_compact(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in Vietnam time, no offset written (the payment hub's format)."""
    return to_vn(moment).strftime(COMPACT)


def parse_compact(text: str) -> datetime:
    """Read ``yyyyMMddHHmmss`` as Vietnam time and return it in UTC."""
    if len(text) != 14 or not text.isascii() or not text.isdigit():
        raise ValueError(f"not a yyyyMMddHHmmss time: {text!r}")
    # fixed fields read by position (strptime, ten times slower, is on every callback's path): datetime refuses
    # a month, day, hour, minute or second out of range, as strptime does
    fields = (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14])
    year, month, day, hour, minute, second = (int(field) for field in fields)
    return _to_utc(datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ), text)


def format_local(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss`` in Vietnam time, no offset (the postal service's and the receipt's format)."""
    return to_vn(moment).strftime("%Y-%m-%dT%H:%M:%S")


def parse_local(text: str) -> datetime:
    """Read ``yyyy-MM-ddTHH:mm:ss`` as Vietnam time and return it in UTC."""
    return _to_utc(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=VN_TZ), text)


def _to_utc(local: datetime, text: str) -> datetime:
    """``local`` in UTC; a ValueError, as for any other time we cannot read, when UTC has no such moment (the first
    hours of year 1 in Vietnam's old offset)."""
    try:
        return local.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"not a time that can be kept: {text!r}") from error
