"""Hypothesis strategies for hostile request parts: digits that are not ASCII, integers past 64 bits, long strings,
NUL and control characters, lone surrogates, dates at the calendar's ends, and JSON that is deep, duplicated,
mistyped or not JSON at all. Values are bytes where the wire carries bytes, so nothing is lost to an encoder."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

UNICODE_DIGITS = ["²", "١٢٣", "１２", "߀", "৩৪", "𝟙𝟚", "Ⅻ", "〇"]
ODD_DATES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "2025-02-30T00:00:00Z",
    "2025-01-01T24:00:00Z",
    "2025-01-01",
    "2025-01-01T00:00:00",
    "+02025-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2025-01-01T00:00:00+99:00",
]
SURROGATES = ["\ud800", "\udfff", "a\udc80b"]


def huge_integers() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(min_value=2**63 - 3, max_value=2**63 + 3),
        st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3),
        st.integers(min_value=2**64, max_value=10**40),
        st.integers(min_value=-(10**40), max_value=-1),
    )


def hostile_text() -> st.SearchStrategy[str]:
    """Strings that have broken parsers: each a value for a path, a query, a header or a JSON string."""
    return st.one_of(
        st.sampled_from(UNICODE_DIGITS),
        huge_integers().map(str),
        st.sampled_from(ODD_DATES),
        st.sampled_from(SURROGATES),
        st.text(alphabet=st.characters(categories=["Cc"]), min_size=1, max_size=4),
        st.text(min_size=250, max_size=2000),
        st.integers(min_value=250, max_value=5000).map(lambda n: "9" * n),
        st.sampled_from(["", " ", "\x00", "%00", "../../etc/passwd", "pay_" + "z" * 26, "null", "[]", "{}", "0x10"]),
        st.text(max_size=30),
    )


def percent(value: str) -> str:
    """A value as the wire carries it in a path or query: UTF-8 (lone surrogates too) percent-encoded."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def json_leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        huge_integers(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
        huge_integers().map(str),  # numbers as strings
    )


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        json_leaf(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
        max_leaves=12,
    )


def encode(value: Any) -> bytes:
    """JSON as a client would send it, lone surrogates written as the escapes JSON allows."""
    return json.dumps(value, ensure_ascii=True).encode()


RAW_BODIES = [
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b'{"amount": 1000, "amount": 2000, "reason": "x"}',
    b'{"reason": "\\ud800"}',
    b'{"reason": "a\\u0000b"}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"reason": "\xc3\x28"}',
    b'{"amount": 1e400, "reason": "x"}',
    b'{"amount": -0, "reason": "x"}',
    b'{"amount": 1.0, "reason": "x"}',
    b'{"amount": "1000", "reason": "x"}',
    b'{"amount": 99999999999999999999999999, "reason": "x"}',
    b"",
    b"null",
    b"{",
    b'{"since": "0001-01-01T00:00:00+14:00"}',
    b'{"url": "http://127.0.0.1:1/\\u0000"}',
]


def mutate(base: Any) -> st.SearchStrategy[Any]:
    """The valid ``base`` with one leaf (or one key) replaced by a hostile value."""
    paths = list(_leaf_paths(base))
    if not paths:
        return json_values()

    @st.composite
    def mutated(draw: st.DrawFn) -> Any:
        path = draw(st.sampled_from(paths))
        value = draw(json_values())
        return _replace(base, path, value)

    return mutated()


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaf_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _leaf_paths(v, (*prefix, i))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy
