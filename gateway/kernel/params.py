"""The portal API's parameters, read in one place: cursors, resource ids in paths and instants in bodies.

Each has a bounded shape that every later step (the database's 64-bit integers and fixed-width columns, the
calendar Python can convert) can hold, so a value that does not fit is refused at the edge as a problem instead of
failing deep inside as a server error. Digits are ASCII only: ``str.isdigit`` and ``\\d`` take ``²`` and ``١``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.kernel.errors import Refused

MAX_INT64 = 2**63 - 1
# No route of the API has a longer path; longer ones name nothing (and would not fit the idempotency record).
MAX_PATH = 255
# Instants a request may name: nothing the gateway keeps is older or newer, and Python can convert every one.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_POSITION = re.compile(r"[0-9]{1,19}")
_EVENT_CURSOR = re.compile(r"([0-9]{1,19})-([0-9]{1,19})")
_ID_BODY = r"_[0-9a-z]{26}"
ID_PATTERNS = {prefix: re.compile(prefix + _ID_BODY) for prefix in ("pay", "rcp", "shp", "evt", "rcn", "brk")}
DOSSIER_CODE = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


def _not_ours(field: str) -> Refused:
    return Refused("invalid_request", "the cursor is not one this API gave", field=field)


def position(value: str | None, field: str = "cursor") -> int | None:
    """A cursor that is a row position: ASCII digits within a signed 64-bit integer."""
    if value is None:
        return None
    if not _POSITION.fullmatch(value) or int(value) > MAX_INT64:
        raise _not_ours(field)
    return int(value)


def event_cursor(value: str | None, field: str = "after") -> tuple[int, int]:
    """The feed's ``<txid>-<position>`` cursor; ``(-1, 0)`` when there is none, to start at the beginning."""
    if value is None:
        return (-1, 0)
    found = _EVENT_CURSOR.fullmatch(value)
    if found is None:
        raise _not_ours(field)
    txid, pos = int(found[1]), int(found[2])
    if txid > MAX_INT64 or pos > MAX_INT64:
        raise _not_ours(field)
    return txid, pos


def id_cursor(value: str | None, prefix: str, field: str = "cursor") -> str | None:
    """A cursor that is the id of the last item of the previous page."""
    if value is None or value == "":
        return None
    if not ID_PATTERNS[prefix].fullmatch(value):
        raise _not_ours(field)
    return value


def resource_id(value: str, prefix: str) -> str:
    """An id in a path that cannot be one of ours names nothing: not found (and never sent to the database)."""
    if not ID_PATTERNS[prefix].fullmatch(value):
        raise Refused("not_found")
    return value


def dossier_code(value: str) -> str:
    if not DOSSIER_CODE.fullmatch(value):
        raise Refused("invalid_request", "a dossier code has 1 to 64 characters", field="dossier_code")
    return value


def instant(value: datetime, field: str) -> datetime:
    """An aware instant between ``EARLIEST`` and ``LATEST``, in UTC."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if value.tzinfo is None or utc is None or not EARLIEST <= utc < LATEST:
        raise Refused(
            "invalid_request",
            f"must be a time with an offset between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}",
            field=field,
            errors=[{"field": field, "message": "time out of range"}],
        )
    return utc


def check_instants(value: Any, path: str = "") -> None:
    """Every instant in a decoded body, however deep, is within range (see ``instant``)."""
    if isinstance(value, datetime):
        instant(value, path)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            check_instants(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_instants(item, f"{path}[{index}]")
