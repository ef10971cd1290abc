"""The hub's compact times (``yyyyMMddHHmmss``, Vietnam time): read back exactly as written, and anything else
refused with a ValueError, never read as some other time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.vntime import format_compact, parse_compact, parse_local

moments = st.datetimes(
    min_value=datetime(1976, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)  # +07:00 since 1975
).map(lambda moment: moment.replace(microsecond=0))


@given(moments)
def test_a_written_time_reads_back_as_itself(moment: datetime) -> None:
    assert parse_compact(format_compact(moment)) == moment


def test_vietnam_time_is_seven_hours_ahead_of_utc() -> None:
    assert parse_compact("20261204000000") == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    assert parse_compact("20261204000000") - parse_compact("20261203235959") == timedelta(seconds=1)


@pytest.mark.parametrize(
    "text",
    [
        "20261304000000",  # month 13
        "20260230000000",  # 30 February
        "20261204240000",  # hour 24
        "20261204006000",  # minute 60
        "20261204000060",  # second 60
        "2026120400000",  # 13 digits
        "202612040000000",  # 15
        "2026-12-04T0000",
        "20261204 00000",
        "2026120400000١",  # a digit, but not an ASCII one
        "+2026120400000",
        "00010101000000",  # before year 1 in UTC
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_compact(text)


def test_a_local_time_before_year_one_in_utc_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_local("0001-01-01T00:00:00")
