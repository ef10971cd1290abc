"""Which earlier day's file settled one of our records, from the days' current runs and the records each left
waiting, as ``ours.carry_for`` decides what a run takes; and which later day's file did, from the later days' current
runs and the run each carried records from when it started."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.reconciliation.settled_again import LaterRun, StoredRun, before_at_start, settled_later, settled_on

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


def later(n: int, before: int | None) -> LaterRun:
    return LaterRun(
        D + timedelta(days=n), f"run{n}", None if before is None else (D + timedelta(days=before), f"run{before}")
    )


def test_a_later_run_that_took_the_record_and_did_not_leave_it_waiting_settled_it() -> None:
    assert settled_later(D, D, [later(1, -1)], set(), LOOKBACK) == D + timedelta(days=1), "no run of D when it ran"
    assert settled_later(D, D, [later(1, 0)], {"run0"}, LOOKBACK) == D + timedelta(days=1), "carried from D's run"
    assert settled_later(D + timedelta(days=1), D, [later(1, None)], set(), LOOKBACK) == D + timedelta(days=1), (
        "its own day's record"
    )
    assert settled_later(D, D, [later(1, -1), later(2, 1)], {"run1"}, LOOKBACK) == D + timedelta(days=2), (
        "left waiting by the first later run, settled by the next"
    )


def test_a_later_run_that_did_not_take_the_record_or_left_it_waiting_did_not_settle_it() -> None:
    assert settled_later(D, D, [later(1, 0)], set(), LOOKBACK) is None, "D's run before it did not leave it waiting"
    assert settled_later(D, D, [later(1, None)], set(), LOOKBACK) is None, "no run before it: its own day's only"
    assert settled_later(D, D, [later(1, -1)], {"run1"}, LOOKBACK) is None, "left waiting"
    assert settled_later(D, D, [later(40, 39)], {"run39"}, LOOKBACK) is None, "past the look-back"
    assert settled_later(D, D, [], set(), LOOKBACK) is None


def at(hour: int) -> datetime:
    return datetime(2026, 11, 5, hour, tzinfo=UTC)


def test_the_run_a_run_carried_from_is_the_one_current_when_it_started() -> None:
    later_run = StoredRun("run1", D + timedelta(days=1), at(10), at(11), None)
    yesterday = StoredRun("run-1", D - timedelta(days=1), at(1), at(2), None)
    recorded_after = StoredRun("run0", D, at(12), at(13), None)  # D's file, reconciled after the later day's
    assert before_at_start(later_run, [yesterday, recorded_after, later_run], LOOKBACK) == (yesterday.day, "run-1")
    older = StoredRun("run0-old", D, at(3), at(4), at(13))  # D's first run, superseded after the later run started
    assert before_at_start(later_run, [yesterday, older, recorded_after], LOOKBACK) == (D, "run0-old")
    replaced = StoredRun("run0-old", D, at(3), at(4), at(5))  # superseded before it started, by a run it saw
    newer = StoredRun("run0-new", D, at(4), at(5), None)
    assert before_at_start(later_run, [yesterday, replaced, newer], LOOKBACK) == (D, "run0-new")
    assert before_at_start(later_run, [StoredRun("old", D - timedelta(days=40), at(1), at(2), None)], LOOKBACK) is None
