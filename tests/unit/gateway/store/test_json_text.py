"""A JSON column's text (``json_text``) reads back as the value written, whatever the value: the same as the
standard library's encoding would, a lone surrogate included; a number JSON cannot carry is null."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.store.db import json_text

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_the_text_reads_back_as_the_value(value: Any) -> None:
    text = json_text(value)
    assert json.loads(text) == value == json.loads(json.dumps(value))


def test_a_lone_surrogate_is_escaped_as_the_standard_library_escapes_it() -> None:
    assert json_text({"name": "a\ud800b"}) == '{"name": "a\\ud800b"}'
    assert json.loads(json_text(["\udfff"])) == ["\udfff"]


def test_vietnamese_text_is_kept_as_utf_8_and_money_as_integers() -> None:
    assert (
        json_text({"tên": "Lệ phí cấp hộ chiếu", "amount": 200_000}) == '{"tên":"Lệ phí cấp hộ chiếu","amount":200000}'
    )


def test_a_number_json_cannot_carry_is_null() -> None:
    # the standard library wrote NaN and Infinity, which PostgreSQL's json type refuses (the whole write failed)
    assert json_text({"ratio": float("nan"), "limit": float("inf")}) == '{"ratio":null,"limit":null}'


def test_what_msgspec_will_not_take_is_encoded_as_before() -> None:
    class Code(str):  # a subclass of str, as SQLAlchemy's names are
        pass

    assert json_text({"code": Code("000.00.01.H26")}) == json.dumps({"code": "000.00.01.H26"})
