"""The one rule for JSON from outside (``adapters.jsonwire.check``) against its plain statement: refused when it nests
too deep, holds a NUL or names a key twice in one object (as Python's own decoder, told to refuse a repeated key,
finds it), whatever the text's strings, spacing and escapes hold."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.jsonwire import _STRING, MAX_DEPTH, UnsafeJson, _outside_strings, check, too_deep

KEYS = st.sampled_from(["a", "b", "a:b", 'q"', "\\", "ký tự", ":", "{", "}"])
TEXT = st.text(alphabet=st.sampled_from(list('ab:,{}[]"\\ ý\u2028')), max_size=6)
SPACE = st.sampled_from(["", " ", "\n", "\t "])


def _leaf() -> st.SearchStrategy[str]:
    strings = st.builds(lambda s, ascii_only: json.dumps(s, ensure_ascii=ascii_only), TEXT, st.booleans())
    return st.one_of(
        strings, st.integers(-(10**20), 10**20).map(str), st.sampled_from(["true", "false", "null", "1.5e3"])
    )


def _tree(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    member = st.builds(lambda k, v, sp: f"{json.dumps(k)}{sp}:{sp}{v}", KEYS, children, SPACE)
    objects = st.lists(member, max_size=4).map(lambda ms: "{" + ", ".join(ms) + "}")
    arrays = st.lists(children, max_size=4).map(lambda vs: "[" + ",".join(vs) + "]")
    return st.one_of(objects, arrays)


DOCUMENTS = st.recursive(_leaf(), _tree, max_leaves=20)


def _refused_as_stated(body: bytes) -> bool:
    """The rule as it reads: deeper than the limit, a NUL (raw or escaped), or a key twice in one object."""
    if too_deep(body, MAX_DEPTH) or b"\x00" in body or b"\\u0000" in body.lower():
        return True

    def no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise UnsafeJson("repeated")
        return dict(pairs)

    try:
        json.loads(body, object_pairs_hook=no_repeats)
    except UnsafeJson:
        return True
    except ValueError:
        return False
    return False


def _refused(body: bytes) -> bool:
    try:
        check(body)
    except UnsafeJson:
        return True
    return False


@given(DOCUMENTS)
def test_a_text_is_refused_exactly_when_the_rule_says(text: str) -> None:
    body = text.encode()
    assert _refused(body) == _refused_as_stated(body), body


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"a": 1, "a": 2}', "'a'"),
        (b'{"x": [{"b": "1:2", "c": {}, "b": null}]}', "'b'"),
        (b'{"k\\u00fd": 1, "k\xc3\xbd": 2}', "'k\u00fd'"),  # one key, escaped once and written out once
    ],
)
def test_a_key_named_twice_is_refused_by_its_name(body: bytes, named: str) -> None:
    with pytest.raises(UnsafeJson, match=f"the key {named} appears twice"):
        check(body)


@pytest.mark.parametrize(
    "body",
    [b'{"a": "x:y", "b": {"a": 1}}', b'[{"a": 1}, {"a": 2}]', b'{"\\":": ":"}', b"not json", b'{"a": 1,}'],
)
def test_the_same_key_in_other_objects_and_colons_in_strings_pass(body: bytes) -> None:
    assert not _refused(body)


@given(st.binary(max_size=40) | st.text(alphabet=st.sampled_from(list('a:"\\[]{}')), max_size=40).map(str.encode))
def test_strings_are_left_out_as_the_pattern_leaves_them_out(body: bytes) -> None:
    """What is outside strings (for the depth and the count of keys) is what the string pattern leaves, whether found
    by splitting at quotes (no backslash, quotes in pairs) or by the pattern itself."""
    assert _outside_strings(body) == _STRING.sub(b"", body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": 2, "a": 3}',  # msgspec decodes it, one key short of the colons
        b'{"n": 1e999, "n": 2}',  # a number msgspec will not hold: the standard library reads it
        b'{"s": "\\ud800", "s": 1}',  # a lone surrogate msgspec refuses
        b'[{"a": {"a": 1, "b": {"c": 1, "c": 2}}}]',
        b'{"pad": ' + b"9" * 4_400 + b', "amount": 1, "amount": 2}',  # a number too long for Python's int
        b'{"x": NaN, "x": 1}',
    ],
)
def test_a_repeated_key_is_found_whichever_decoder_reads_the_text(body: bytes) -> None:
    with pytest.raises(UnsafeJson, match="appears twice"):
        check(body)
