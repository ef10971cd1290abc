"""The post's 0–22 states in the gateway's words, and the "never move backwards" rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.postal import codes
from adapters.postal.codes import RANK, ShipmentState, advances, state_of

states = st.sampled_from(list(ShipmentState))
S = ShipmentState


def test_every_code_from_0_to_22_is_mapped_with_both_names() -> None:
    assert sorted(codes.STATUSES) == list(range(23))
    for code, status in codes.STATUSES.items():
        assert status.code == code and status.name_vi and status.name_en
        assert status.state in RANK


def test_the_mapping_of_the_key_codes() -> None:
    assert state_of(1) is S.CREATED
    assert state_of(4) is S.PICKUP_SCHEDULED
    assert state_of(5) is S.PICKUP_FAILED and state_of(8) is S.PICKUP_FAILED
    assert state_of(6) is S.PICKED_UP
    assert state_of(10) is S.IN_TRANSIT and state_of(13) is S.IN_TRANSIT
    assert state_of(12) is S.OUT_FOR_DELIVERY
    assert state_of(14) is S.DELIVERED
    assert state_of(15) is S.DELIVERY_FAILED
    assert state_of(17) is S.RETURNING
    assert state_of(20) is S.RETURNED
    assert state_of(9) is S.CANCELLED and state_of(22) is S.CANCELLED
    assert state_of(21) is S.COD_REMITTED


def test_every_state_is_reachable_from_some_code() -> None:
    assert {s.state for s in codes.STATUSES.values()} == set(ShipmentState)


@given(states)
def test_the_first_event_always_applies(new: ShipmentState) -> None:
    assert advances(None, new)


@given(states)
def test_a_repeat_never_moves(state: ShipmentState) -> None:
    assert not advances(state, state)


@given(states, states)
def test_never_backwards(current: ShipmentState, new: ShipmentState) -> None:
    if advances(current, new):
        assert RANK[new] > RANK[current]
        assert not advances(new, current)


@given(states, states)
def test_final_states_never_move_and_delivered_only_to_cod_remitted(current: ShipmentState, new: ShipmentState) -> None:
    if current in (S.RETURNED, S.CANCELLED, S.COD_REMITTED):
        assert not advances(current, new)
    if current is S.DELIVERED:
        assert advances(current, new) == (new is S.COD_REMITTED)


@given(st.permutations([1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 14, 21]))
def test_any_arrival_order_ends_in_the_same_state(arrivals: list[int]) -> None:
    current: ShipmentState | None = None
    for code in arrivals:
        if advances(current, state_of(code)):
            current = state_of(code)
    assert current is S.COD_REMITTED


def test_a_late_pickup_event_does_not_undo_a_delivery() -> None:
    assert not advances(S.DELIVERED, state_of(6))
    assert not advances(S.IN_TRANSIT, state_of(4))
    assert advances(S.DELIVERY_FAILED, state_of(14))
    assert advances(S.PICKUP_FAILED, state_of(6))
