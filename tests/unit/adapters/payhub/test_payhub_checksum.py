"""``MaXacThuc``: the known-answer vectors and the properties every verifier relies on."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.payhub import checksum
from tests.support import vectors as vectors_file

VECTORS = vectors_file.PATH
KINDS = sorted(checksum.FIELDS)


def vectors() -> list[dict[str, Any]]:
    return [v for v in json.loads(VECTORS.read_text(encoding="utf-8")) if v["message"] in checksum.FIELDS]


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["message"])
def test_known_answer(vector: dict[str, Any]) -> None:
    assert checksum.FIELDS[vector["message"]] == tuple(vector["fields"])
    assert checksum.sign(vector["message"], vector["input"], vector["key"]) == vector["MaXacThuc"]
    assert checksum.verify(vector["message"], vector["input"], vector["key"], vector["MaXacThuc"])


def test_vectors_cover_the_partner_facing_kinds() -> None:
    assert {v["message"] for v in vectors()} >= {"init", "confirm", "confirm-ack", "getbill"}


def test_missing_and_null_fields_count_as_empty() -> None:
    full = {name: "" for name in checksum.FIELDS["getbill"]}

    assert checksum.sign("getbill", {}, "k") == checksum.sign("getbill", full, "k")
    assert checksum.sign("getbill", {"MaDoiTac": None}, "k") == checksum.sign("getbill", full, "k")


def test_prefix_kinds_sign_their_constant_first() -> None:
    params = {"MaDoiTac": "P", "NgayQuyetToan": "20261122", "ThoiGianGD": "20261123020000"}
    expected = hashlib.sha256(b"SETTLEMENT|P|20261122|20261123020000|k").hexdigest()

    assert checksum.sign("settlement", params, "k") == expected


def test_settlement_body_checksum_is_over_the_body_hash() -> None:
    body = b"MaGiaoDich,SoTien\r\nHUB1,150000\r\n"
    inner = hashlib.sha256(body).hexdigest()

    assert checksum.settlement_body_checksum(body, "k") == hashlib.sha256(f"{inner}|k".encode()).hexdigest()
    assert checksum.settlement_body_checksum(body[:-1], "k") != checksum.settlement_body_checksum(body, "k")


field_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@st.composite
def signed_messages(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    kind = draw(st.sampled_from(KINDS))
    message = {name: draw(field_text | st.integers(0, 10**12)) for name in checksum.FIELDS[kind]}
    key = draw(st.text(min_size=1, max_size=40))
    return kind, message, key


@given(signed_messages())
def test_sign_then_verify(case: tuple[str, dict[str, Any], str]) -> None:
    kind, message, key = case

    assert checksum.verify(kind, message, key, checksum.sign(kind, message, key))


@given(signed_messages())
def test_upper_case_hex_is_accepted(case: tuple[str, dict[str, Any], str]) -> None:
    kind, message, key = case

    assert checksum.verify(kind, message, key, checksum.sign(kind, message, key).upper())


@given(signed_messages(), st.data())
def test_any_one_character_change_of_a_field_fails(case: tuple[str, dict[str, Any], str], data: st.DataObject) -> None:
    kind, message, key = case
    mac = checksum.sign(kind, message, key)
    name = data.draw(st.sampled_from(checksum.FIELDS[kind]))
    text = str(message[name])
    position = data.draw(st.integers(0, len(text)))
    replacement = data.draw(st.characters(codec="utf-8", exclude_categories=("Cs",)))
    changed_text = text[:position] + replacement + text[position + 1 :]
    if changed_text == text:
        changed_text = text + replacement
    changed = {**message, name: changed_text}

    assert not checksum.verify(kind, changed, key, mac)


@given(signed_messages(), st.data())
def test_any_one_character_change_of_the_checksum_fails(
    case: tuple[str, dict[str, Any], str], data: st.DataObject
) -> None:
    kind, message, key = case
    mac = checksum.sign(kind, message, key)
    position = data.draw(st.integers(0, len(mac) - 1))
    other = data.draw(st.sampled_from([c for c in "0123456789abcdef" if c != mac[position]]))

    assert not checksum.verify(kind, message, key, mac[:position] + other + mac[position + 1 :])


@given(signed_messages(), st.text(min_size=1, max_size=40))
def test_another_key_fails(case: tuple[str, dict[str, Any], str], other_key: str) -> None:
    kind, message, key = case

    assert checksum.verify(kind, message, other_key, checksum.sign(kind, message, key)) == (other_key == key)


@pytest.mark.parametrize("given_mac", [None, "", "not hex", "é" * 64, 12])
def test_missing_or_malformed_checksum_fails(given_mac: Any) -> None:
    assert not checksum.verify("getbill", {}, "k", given_mac)
