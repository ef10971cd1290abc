"""The payment state machine: no sequence of events reaches an illegal state or collects twice."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.payhub import Outcome
from gateway.payments.state import (
    COLLECTED,
    UNPAID,
    UNPAID_FINAL,
    Event,
    IllegalTransition,
    Status,
    allowed,
    decide_hub_result,
    next_status,
    refund_event,
)

PAID_AMOUNT = 150_000

steps = st.one_of(
    st.tuples(st.just("hub"), st.sampled_from(list(Outcome))),
    st.tuples(
        st.just("portal"),
        st.sampled_from([Event.PORTAL_CANCEL, Event.EXPIRE, Event.INIT_ACCEPTED, Event.INIT_REJECTED]),
    ),
    st.tuples(st.just("refund"), st.integers(min_value=1, max_value=PAID_AMOUNT)),
)


@settings(max_examples=500)
@given(st.lists(steps, max_size=40))
def test_no_sequence_of_events_collects_twice_or_reaches_an_illegal_state(sequence: list[tuple[str, object]]) -> None:
    status, collections, refunded = Status.CREATED, 0, 0
    for kind, value in sequence:
        before = status
        if kind == "hub":
            decision = decide_hub_result(status, value)  # type: ignore[arg-type]
            if decision.event is not None:
                status = next_status(status, decision.event)
        elif kind == "portal":
            if allowed(status, value):  # type: ignore[arg-type]
                status = next_status(status, value)  # type: ignore[arg-type]
        else:
            amount = int(value)  # type: ignore[call-overload]
            if status in (Status.PAID, Status.PARTIALLY_REFUNDED) and refunded + amount <= PAID_AMOUNT:
                refunded += amount
                status = next_status(status, refund_event(PAID_AMOUNT, refunded))
        if status is Status.PAID and before is not Status.PAID:
            collections += 1
        assert collections <= 1, "a payment is paid at most once"
        if before in COLLECTED:
            assert status in COLLECTED, "money collected never goes back to unpaid"
        if status in (Status.PARTIALLY_REFUNDED, Status.REFUNDED):
            assert 0 < refunded <= PAID_AMOUNT
        if status is Status.REFUNDED:
            assert refunded == PAID_AMOUNT


def test_a_paid_result_is_recorded_even_after_the_payment_ended_unpaid() -> None:
    for status in UNPAID_FINAL:
        decision = decide_hub_result(status, Outcome.PAID)
        assert decision.event is Event.HUB_PAID
        assert next_status(status, Event.HUB_PAID) is Status.PAID


def test_results_other_than_paid_never_move_a_final_payment_but_a_cancellation_names_an_expiry() -> None:
    for status in {*UNPAID_FINAL, *COLLECTED}:
        for outcome in Outcome:
            if outcome is Outcome.PAID:
                continue
            decision = decide_hub_result(status, outcome)
            if (status, outcome) == (Status.EXPIRED, Outcome.CANCELLED):
                assert decision.event is Event.HUB_CANCELLED
                assert next_status(status, Event.HUB_CANCELLED) is Status.CANCELLED
            else:
                assert not decision.changes, (status, outcome)


@given(
    st.permutations([Outcome.EXPIRED, Outcome.CANCELLED, Outcome.EXPIRED, Outcome.CANCELLED]),
    st.integers(min_value=1, max_value=4),
)
def test_a_cancellation_ends_cancelled_whether_the_query_or_the_callback_came_first(
    answers: list[Outcome], taken: int
) -> None:
    """The query's "expired or cancelled" and the callback's "cancelled by the citizen", repeated and in any
    order: once the callback has come, the payment is cancelled; before it, the query's answer stands."""
    status = Status.PENDING
    seen = answers[:taken]
    for outcome in seen:
        decision = decide_hub_result(status, outcome)
        if decision.event is not None:
            status = next_status(status, decision.event)
    assert status is (Status.CANCELLED if Outcome.CANCELLED in seen else Status.EXPIRED)


def test_waiting_answers_change_nothing() -> None:
    for status in UNPAID:
        for outcome in (Outcome.NOT_PAID, Outcome.PROCESSING, Outcome.UNKNOWN_REFERENCE):
            assert not decide_hub_result(status, outcome).changes


def test_illegal_transitions_raise() -> None:
    try:
        next_status(Status.PAID, Event.PORTAL_CANCEL)
    except IllegalTransition as exc:
        assert exc.status is Status.PAID
    else:  # pragma: no cover
        raise AssertionError("cancelling a paid payment must be illegal")


def test_refunds_beyond_the_paid_amount_are_refused() -> None:
    assert refund_event(100, 100) is Event.REFUND_FULL
    assert refund_event(100, 40) is Event.REFUND_PARTIAL
    try:
        refund_event(100, 101)
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("refunding more than paid must fail")
