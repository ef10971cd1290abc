"""JSON from outside, checked before any decoder sees it: the one rule for every JSON the gateway reads (the hub's
callbacks and replies, the post's pushes, pages and statements, agency files, the portal API's bodies).

Three things a decoder would get wrong are refused here: nesting deeper than any real message (a decoder
recursing into thousands of levels overflows the stack), an object that names a key twice (decoders keep one
value silently, and two readers may keep different ones), and a NUL character in a string (no text we keep may
hold one: PostgreSQL cannot). Anything else malformed is left to the decoder to describe.
"""

from __future__ import annotations

import json
import re

import msgspec

# No message we read nests deeper than a handful of levels.
MAX_DEPTH = 32

_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_DECODER = msgspec.json.Decoder()


class UnsafeJson(ValueError):
    """JSON nested too deep, naming a key twice or holding a NUL character."""


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body`` opens more than ``limit`` arrays or objects inside one another (brackets inside strings
    do not count)."""
    return _deeper(_outside_strings(body), limit)


def _outside_strings(body: bytes) -> bytes:
    """``body`` without its strings. Without a backslash no quote is escaped, so when the quotes pair up the text
    between pairs is what is outside strings (found in C, where the pattern takes several times as long)."""
    if b"\\" not in body and body.count(b'"') % 2 == 0:
        return b"".join(body.split(b'"')[::2])
    return _STRING.sub(b"", body)


def _deeper(outside_strings: bytes, limit: int) -> bool:
    depth = 0
    for byte in outside_strings.translate(None, delete=_NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise UnsafeJson(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _entries(value: object) -> int:
    """How many keys the objects in ``value`` hold, all levels together."""
    if isinstance(value, dict):
        return len(value) + sum(_entries(inner) for inner in value.values())
    if isinstance(value, list):
        return sum(_entries(inner) for inner in value)
    return 0


def check(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``UnsafeJson`` if ``body`` nests deeper than ``max_depth``, repeats a key in an object or holds a NUL
    character (raw, which is not JSON anyway, or escaped).

    A repeated key is found by counting: outside its strings, every colon of a JSON text separates a key from its
    value, so a text whose decoded objects hold as many keys as it has such colons names no key twice. Only a text
    that does, or that msgspec will not decode (numbers it cannot hold, a lone surrogate), is read again by the
    standard library, member by member, which names the key."""
    outside_strings = _outside_strings(body)
    if _deeper(outside_strings, max_depth):
        raise UnsafeJson(f"JSON nested deeper than {max_depth} levels")
    if b"\x00" in body or (b"\\" in body and _ESCAPED_NUL.search(body)):  # an escape needs a backslash
        raise UnsafeJson("NUL characters are not allowed")
    try:
        if _entries(_DECODER.decode(body)) == outside_strings.count(b":"):
            return
    except msgspec.DecodeError:
        pass
    try:  # numbers are not read: one too long for Python's int must not hide a repeated key
        json.loads(
            body, object_pairs_hook=_no_duplicates, parse_int=_unread, parse_float=_unread, parse_constant=_unread
        )
    except UnsafeJson:
        raise
    except ValueError:  # not JSON at all (or not UTF-8): the decoder that follows says why
        return


def _unread(_text: str) -> None:
    return None
