"""Which earlier day's file settled one of our records, from the days' current runs and the records each left
waiting, as ``ours.carry_for`` decides what a run takes."""

from __future__ import annotations

from datetime import date, timedelta

from gateway.reconciliation.settled_again import settled_on

LOOKBACK = timedelta(days=31)
D = date(2026, 11, 2)


def runs(*days: int) -> list[tuple[date, str]]:
    return [(D + timedelta(days=n), f"run{n}") for n in days]


def test_the_first_run_of_the_record_s_day_or_after_that_did_not_leave_it_waiting_settled_it() -> None:
    assert settled_on(D, runs(-1, 0, 1), set(), LOOKBACK) == D
    assert settled_on(D, runs(-1, 1), set(), LOOKBACK) == D + timedelta(days=1), "a day without a run"
    assert settled_on(D, runs(-1, 0, 1, 2), {"run0", "run1"}, LOOKBACK) == D + timedelta(days=2), "settled late"


def test_a_record_still_waiting_or_never_taken_was_not_settled() -> None:
    assert settled_on(D, runs(-1, 0, 1), {"run0", "run1"}, LOOKBACK) is None
    assert settled_on(D, runs(2, 3), set(), LOOKBACK) is None, "no run before: the first took only its own day"
    assert settled_on(D, [], set(), LOOKBACK) is None


def test_a_record_past_the_look_back_is_no_longer_taken() -> None:
    days = runs(-1, 0, 40)
    assert settled_on(D, days, {"run0"}, LOOKBACK) is None, "dropped out of the window, not settled"
