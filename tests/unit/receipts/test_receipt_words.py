"""The total in words: known answers, and every amount reads back to itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receipts import amount_in_words

KNOWN = [
    (0, "Không đồng"),
    (1, "Một đồng"),
    (15, "Mười lăm đồng"),
    (21, "Hai mươi mốt đồng"),
    (105, "Một trăm linh năm đồng"),
    (1_010, "Một nghìn không trăm mười đồng"),
    (1_015, "Một nghìn không trăm mười lăm đồng"),
    (50_000, "Năm mươi nghìn đồng"),
    (105_000, "Một trăm linh năm nghìn đồng"),
    (150_000, "Một trăm năm mươi nghìn đồng"),
    (1_000_005, "Một triệu không trăm linh năm đồng"),
    (1_001_000, "Một triệu không trăm linh một nghìn đồng"),
    (2_500_000, "Hai triệu năm trăm nghìn đồng"),
    (1_000_000_000, "Một tỷ đồng"),
    (2_000_005_000, "Hai tỷ không trăm linh năm nghìn đồng"),
    (1_000_000_000_000, "Một nghìn tỷ đồng"),
    (
        1_234_567_891,
        "Một tỷ hai trăm ba mươi bốn triệu năm trăm sáu mươi bảy nghìn tám trăm chín mươi mốt đồng",
    ),
]

_DIGITS = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "năm": 5, "lăm": 5, "sáu": 6,
           "bảy": 7, "tám": 8, "chín": 9}


def read_back(text: str) -> int:
    """An independent reader of the words, to show that each reading names exactly its amount."""
    words = text.removesuffix(" đồng").lower().split()
    total = group = unit = 0
    for word in words:
        if word in _DIGITS:
            unit += _DIGITS[word]
        elif word == "mười":
            unit += 10
        elif word == "mươi":
            unit *= 10
        elif word == "linh":
            pass
        elif word == "trăm":
            group, unit = group + unit * 100, 0
        elif word == "nghìn":
            total, group, unit = total + (group + unit) * 1_000, 0, 0
        elif word == "triệu":
            total, group, unit = total + (group + unit) * 1_000_000, 0, 0
        elif word == "tỷ":
            total, group, unit = (total + group + unit) * 1_000_000_000, 0, 0
        else:
            raise AssertionError(f"unexpected word {word!r} in {text!r}")
    return total + group + unit


@pytest.mark.parametrize(("amount", "expected"), KNOWN)
def test_known_amounts_in_words(amount: int, expected: str) -> None:
    assert amount_in_words(amount) == expected


@given(st.integers(0, 10**12))
def test_every_amount_is_capitalised_ends_in_dong_and_reads_back(amount: int) -> None:
    text = amount_in_words(amount)
    assert text and text[0].isupper() and text[1:] == text[1:].lower()
    assert text.endswith(" đồng")
    assert "  " not in text and "lẻ" not in text
    assert read_back(text) == amount


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_non_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="whole non-negative"):
        amount_in_words(bad)  # type: ignore[arg-type]
