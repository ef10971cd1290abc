"""Column types that behave the same on PostgreSQL and SQLite, and the times a change writes into them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def as_stored(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as ``UTCDateTime`` columns give them back once written: every datetime in UTC (a record built
    from what a unit writes, not read back, shows what a read would)."""
    return {name: v.astimezone(UTC) if isinstance(v, datetime) else v for name, v in values.items()}


def after(now: datetime, last: datetime) -> datetime:
    """The time of a change made at ``now`` to a row last changed at ``last``: never before it, so a row's changes,
    and the events announcing them, keep their order in time whatever the clocks of the processes that made them
    and however long the change waited for the row."""
    return max(now, last)


# SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigSerial = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on both engines."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
