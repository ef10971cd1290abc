"""Identifiers: a prefix, ten Crockford base32 characters of milliseconds, sixteen random ones, in lower case."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gateway.ids import _base32, _ulid_body, new_id


@given(st.integers(0, 2**50 - 1), st.integers(0, 2**80 - 1))
def test_the_body_is_the_time_then_the_random_bits_in_crockford_base32(millis: int, random: int) -> None:
    assert _ulid_body(millis, random) == (_base32(millis, 10) + _base32(random, 16)).lower()


def test_ids_are_prefixed_time_ordered_and_unique() -> None:
    ids = [new_id("evt") for _ in range(2_000)]
    assert all(re.fullmatch(r"evt_[0-9a-hjkmnp-tv-z]{26}", value) for value in ids)
    assert len(set(ids)) == len(ids)
    assert [value[4:14] for value in ids] == sorted(value[4:14] for value in ids)
