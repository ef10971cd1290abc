"""Webhook secrets at rest: the gateway's own key (never the hub's), key ids so keys rotate, and a secret that no
configured key opens is a plain, named failure."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from gateway.deliveries.secret_box import (
    SecretBox,
    SecretUnavailable,
    decode_key,
    key_id,
    legacy_hub_key,
    new_key,
    new_secret,
)
from gateway.settings import SettingsError, load

K1, K2 = new_key(), new_key()


def box(*keys: str, hub: str = "hub-key") -> SecretBox:
    return SecretBox.from_settings(load({"PAYHUB_HASH_KEY": hub, "WEBHOOK_SECRETS_KEY": ",".join(keys)}))


def test_the_key_is_required_and_never_derived_from_the_hub_key() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_SECRETS_KEY"):
        SecretBox.from_settings(load({"PAYHUB_HASH_KEY": "hub-key"}))
    for bad in ("short", "!!!not base64!!!", base64.b64encode(b"x" * 31).decode(), f"{K1},nope"):
        with pytest.raises(SettingsError, match="32 random bytes"):
            box(bad)


def test_the_hub_key_neither_opens_the_secrets_nor_breaks_them_when_it_changes() -> None:
    secret = new_secret()
    sealed = box(K1, hub="hub-key").seal(secret, "ptl_1")
    assert box(K1, hub="another-hub-key").open(sealed, "ptl_1") == secret  # the hub's key was rotated
    hubs = SecretBox([legacy_hub_key("hub-key")])
    with pytest.raises(SecretUnavailable):
        hubs.open(sealed, "ptl_1")


def test_the_first_key_seals_every_key_opens_and_the_key_id_is_named() -> None:
    secret = new_secret()
    old = box(K1).seal(secret, "ptl_1")
    assert old.startswith(f"v2.{key_id(decode_key(K1))}.") and secret not in old
    rotating = box(K2, K1)
    assert rotating.open(old, "ptl_1") == secret and not rotating.is_current(old)
    new = rotating.seal(secret, "ptl_1")
    assert rotating.is_current(new) and new.startswith(f"v2.{rotating.current_key_id}.")
    assert box(K2).open(new, "ptl_1") == secret
    with pytest.raises(SecretUnavailable, match=key_id(decode_key(K1))) as missing:
        box(K2).open(old, "ptl_1")
    assert K1 not in str(missing.value)


def test_a_sealed_secret_belongs_to_its_portal() -> None:
    sealed = box(K1).seal(new_secret(), "ptl_1")
    with pytest.raises(SecretUnavailable):
        box(K1).open(sealed, "ptl_2")


def test_secrets_sealed_by_older_versions_open_with_their_key_and_the_hub_key_only_when_asked() -> None:
    secret = new_secret()

    def v1(key: bytes) -> str:
        nonce = os.urandom(12)
        return (
            "v1."
            + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, secret.encode(), b"webhook-secret")).decode()
        )

    assert box(K1).open(v1(decode_key(K1)), "ptl_1") == secret  # sealed under the same WEBHOOK_SECRETS_KEY
    derived = v1(legacy_hub_key("hub-key"))  # sealed with the key older versions derived from the hub's
    with pytest.raises(SecretUnavailable):
        box(K1).open(derived, "ptl_1")
    settings = load({"PAYHUB_HASH_KEY": "hub-key", "WEBHOOK_SECRETS_KEY": K1})
    assert SecretBox.from_settings(settings, [legacy_hub_key("hub-key")]).open(derived, "ptl_1") == secret


@given(st.text(max_size=200))
def test_a_damaged_value_is_unavailable_never_another_error(value: str) -> None:
    kid = box(K1).current_key_id
    for stored in (value, f"v1.{value}", f"v2.{kid}.{value}", f"v2.{value}"):
        with pytest.raises(SecretUnavailable):
            box(K1).open(stored, "ptl_1")
