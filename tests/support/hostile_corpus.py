"""A corpus of hostile inputs for every file and document the gateway reads: XML (receipts), JSON (the hub's
callbacks, the post's pushes, feed pages and COD statements, agency files) and keys (PEM, PKCS#12). Made by
generators rather than stored, so the big ones cost nothing in the repository; each case is ``(name, bytes)``.

Kinds: entity expansion, external entities and DTDs, XInclude, huge, truncated, wrong encodings, BOMs, NULs,
deep nesting, numbers as strings, duplicate keys, and values past what the reader's types hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Case = tuple[str, bytes]

BIG = 3_000_000  # past every reader's size limit (receipts: 2 MB; the API: 64 KiB)
DEEP = 100_000
XSI = "http://www.w3.org/2001/XMLSchema-instance"


# ---------------------------------------------------------------- XML


def xml_documents(canary_url: str, secret_file: str) -> list[Case]:
    """Hostile XML. ``canary_url`` is a loopback URL that must never be fetched; ``secret_file`` a local file whose
    content must never appear in a parsed tree."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return [
        ("billion laughs", f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "ha">{laughs}]><r>&l9;</r>'.encode()),
        (
            "quadratic blowup",
            f'<!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]><r>{"&a;" * 50_000}</r>'.encode(),
        ),
        ("external entity file", f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret_file}">]><r>&x;</r>'.encode()),
        ("external entity http", f'<!DOCTYPE r [<!ENTITY x SYSTEM "{canary_url}/entity">]><r>&x;</r>'.encode()),
        ("external DTD", f'<!DOCTYPE r SYSTEM "{canary_url}/dtd"><r/>'.encode()),
        (
            "parameter entity",
            f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{canary_url}/param"> %p;]><r/>'.encode(),
        ),
        ("internal DTD only", b"<!DOCTYPE r [<!ELEMENT r ANY>]><r/>"),
        (
            "XInclude",
            f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{canary_url}/xi" parse="text"/>'
            f'<xi:include href="file://{secret_file}" parse="text"/></r>'.encode(),
        ),
        ("XSLT stylesheet PI", f'<?xml-stylesheet type="text/xsl" href="{canary_url}/xsl"?><r/>'.encode()),
        (
            "schema location",
            f'<r xmlns:xsi="{XSI}" xsi:schemaLocation="urn:x {canary_url}/x"/>'.encode(),
        ),
        ("huge", b"<r>" + b"x" * BIG + b"</r>"),
        ("deeply nested", b"<a>" * DEEP + b"</a>" * DEEP),
        ("many attributes", b"<r " + b" ".join(b'a%d="1"' % i for i in range(200_000)) + b"/>"),
        ("truncated", b'<?xml version="1.0" encoding="UTF-8"?><HDon><DLHDon><TTChung><PBan>2.0'),
        ("empty", b""),
        ("not xml", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("NUL inside", b"<r>a\x00b</r>"),
        ("invalid UTF-8", b'<?xml version="1.0" encoding="UTF-8"?><r>\xc3\x28\xff</r>'),
        ("declared UTF-16, is UTF-8", b'<?xml version="1.0" encoding="UTF-16"?><r>x</r>'),
        ("UTF-16 BOM, UTF-8 body", b"\xff\xfe<r>x</r>"),
        ("UTF-32", '<?xml version="1.0" encoding="UTF-32"?><r>x</r>'.encode("utf-32")),
        ("unknown encoding", b'<?xml version="1.0" encoding="EBCDIC-FANTASY"?><r/>'),
        ("two roots", b"<r/><r/>"),
        ("control characters", b"<r>\x01\x02\x1b</r>"),
    ]


# ---------------------------------------------------------------- JSON


def json_documents(valid: dict[str, Any]) -> list[Case]:
    """Hostile JSON around a ``valid`` message: each breaks its framing, encoding or types."""
    text = json.dumps(valid, ensure_ascii=False)
    raw = text.encode()
    first_key = next(iter(valid))
    cases: list[Case] = [
        ("deeply nested array", b"[" * DEEP + b"]" * DEEP),
        ("deeply nested object", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        ("deep inside a valid message", raw[:-1] + b', "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"),
        ("duplicate key", raw[:-1] + b", " + json.dumps({first_key: _other(valid[first_key])})[1:].encode()),
        ("huge", b'{"x": "' + b"a" * BIG + b'"}'),
        ("huge number", raw[:-1] + b', "n": 1' + b"0" * 5_000 + b"}"),
        ("truncated", raw[: len(raw) // 2]),
        ("empty", b""),
        ("not an object", b"[]"),
        ("null", b"null"),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + raw),
        ("UTF-16", text.encode("utf-16")),
        ("invalid UTF-8", raw[:-1] + b', "x": "\xc3\x28\xff"}'),
        ("NUL byte", raw[:-1] + b', "x": "a\x00b"}'),
        ("escaped NUL in a field", json.dumps({**valid, _first_text(valid): "a\x00b"}).encode()),
        ("lone surrogate", raw[:-1] + b', "x": "\\ud800"}'),
        ("NaN", raw[:-1] + b', "x": NaN}'),
        ("trailing garbage", raw + b"garbage"),
        ("single quotes", text.replace('"', "'").encode()),
    ]
    cases += list(_retyped(valid))
    return cases


def _first_text(valid: dict[str, Any]) -> str:
    return next((k for k, v in valid.items() if isinstance(v, str)), "x")


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "-other"
    return None


def _retyped(valid: dict[str, Any]) -> Iterator[Case]:
    """Each top-level field with its type changed: numbers as strings and back, objects as arrays, and so on."""
    for name, value in valid.items():
        if isinstance(value, bool):
            swapped: Any = str(value).lower()
        elif isinstance(value, int):
            swapped = str(value)
        elif isinstance(value, str) and value.isdigit():
            swapped = int(value)
        elif isinstance(value, str):
            swapped = ["list", "instead"]
        elif isinstance(value, dict | list):
            swapped = "a string instead"
        else:
            continue
        yield f"{name} retyped", json.dumps({**valid, name: swapped}).encode()


# ---------------------------------------------------------------- keys


def pem_files(good_key: bytes, good_cert: bytes) -> list[tuple[str, bytes, bytes]]:
    """``(name, key PEM, certificate PEM)`` pairs that must not load as a signing key."""
    garbage = b"-----BEGIN PRIVATE KEY-----\n" + b"QUFB" * 50 + b"\n-----END PRIVATE KEY-----\n"
    return [
        ("empty key", b"", good_cert),
        ("empty certificate", good_key, b""),
        ("truncated key", good_key[: len(good_key) // 2], good_cert),
        ("truncated certificate", good_key, good_cert[: len(good_cert) // 2]),
        ("garbage base64", garbage, good_cert),
        ("certificate as key", good_cert, good_cert),
        ("key as certificate", good_key, good_key),
        ("NUL bytes", good_key.replace(b"\n", b"\x00", 3), good_cert),
        ("UTF-16", good_key.decode().encode("utf-16"), good_cert),
        ("huge", good_key + b"A" * BIG, good_cert),
        ("DER, not PEM", b"\x30\x82\x04\xa4" + b"\x00" * 1200, good_cert),
        ("random bytes", bytes(range(256)) * 8, bytes(range(256)) * 8),
    ]


def pem_tolerated(good_key: bytes, good_cert: bytes) -> list[tuple[str, bytes, bytes]]:
    """PEM files a text editor may have touched, which still hold exactly the key and certificate: PEM allows
    text before the armour, so a byte order mark there changes nothing."""
    return [
        ("BOM", b"\xef\xbb\xbf" + good_key, b"\xef\xbb\xbf" + good_cert),
        ("CRLF", good_key.replace(b"\n", b"\r\n"), good_cert.replace(b"\n", b"\r\n")),
    ]


def pkcs12_files(good: bytes) -> list[Case]:
    return [
        ("empty", b""),
        ("truncated", good[: len(good) // 2]),
        ("one byte changed", good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]),
        ("PEM instead", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        ("huge", good + b"\x00" * BIG),
        ("random bytes", bytes(range(256)) * 16),
        ("ASN.1 bomb", b"\x30\x84\xff\xff\xff\xff" + b"\x30\x80" * 10_000),
    ]
