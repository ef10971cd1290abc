"""Vietnam business days: what the cut-offs count, so a weekend or Tết never turns a wait into a break.

The days off are those the government announces each year for public servants (Tết dương lịch, Tết Nguyên đán,
Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh, with their substitute days). Extend ``VN_DAYS_OFF`` when a year's
schedule is announced; callers may pass their own set.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

SATURDAY = 5


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


VN_DAYS_OFF: frozenset[date] = frozenset(
    [
        # 2025
        date(2025, 1, 1),
        *_span(date(2025, 1, 25), date(2025, 2, 2)),
        date(2025, 4, 7),
        *_span(date(2025, 4, 30), date(2025, 5, 4)),
        *_span(date(2025, 8, 30), date(2025, 9, 2)),
        # 2026
        date(2026, 1, 1),
        date(2026, 1, 2),
        *_span(date(2026, 2, 14), date(2026, 2, 22)),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 1),
        date(2026, 9, 2),
        # 2027
        date(2027, 1, 1),
        *_span(date(2027, 2, 4), date(2027, 2, 10)),
        date(2027, 4, 16),
        date(2027, 4, 30),
        date(2027, 5, 1),
        date(2027, 9, 2),
        date(2027, 9, 3),
    ]
)


def is_business_day(day: date, days_off: Iterable[date] = VN_DAYS_OFF) -> bool:
    return day.weekday() < SATURDAY and day not in days_off


def business_days_after(start: date, end: date, days_off: frozenset[date] = VN_DAYS_OFF) -> int:
    """Business days in (start, end]: how long something dated ``start`` has waited by ``end``."""
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        count += is_business_day(day, days_off)
        day += timedelta(days=1)
    return count
