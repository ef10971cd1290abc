"""The hub's compact times (``yyyyMMddHHmmss``, Vietnam time): read back exactly as written, and anything else
refused with a ValueError, never read as some other time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.vntime import VN_TZ, format_compact, format_local, parse_compact, parse_local

moments = st.datetimes(
    min_value=datetime(1976, 1, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),  # +07:00 since 1975
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


@given(moments)
def test_a_written_local_time_reads_back_as_itself(moment: datetime) -> None:
    assert parse_local(format_local(moment)) == moment


def field(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    """A number written with all its digits, or unpadded, or with one digit too many."""
    return st.tuples(st.integers(low, high), st.sampled_from([width, 1, width + 1])).map(
        lambda pair: str(pair[0]).zfill(pair[1])
    )


times = st.tuples(
    field(1, 9999, 4), field(0, 13, 2), field(0, 32, 2), field(0, 24, 2), field(0, 60, 2), field(0, 60, 2)
).map(lambda f: f"{f[0]}-{f[1]}-{f[2]}T{f[3]}:{f[4]}:{f[5]}")


@given(times)
def test_a_local_time_reads_as_strptime_reads_it_when_every_field_is_whole(text: str) -> None:
    """Where every field has all its digits at its place, the positional reading is strptime's (values out of range
    refused alike); anything else is refused, including what strptime would read with fewer digits."""
    try:
        expected = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=VN_TZ).astimezone(UTC)
    except (ValueError, OverflowError):
        expected = None
    if expected is None or len(text) != 19:
        with pytest.raises(ValueError):
            parse_local(text)
    else:
        assert parse_local(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-1-5T08:00:00",  # unpadded month and day
        "2026-12-04T8:00:00",
        "2026-12-04 08:00:00",
        "2026-12-04T08:00:00Z",
        "2026/12/04T08:00:00",
        "2026-12-04T08:00:0١",
        "+026-12-04T08:00:00",
        "2026-12-04T24:00:00",
    ],
)
def test_a_local_time_not_written_whole_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_local(text)
