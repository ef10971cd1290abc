"""Webhook signing secrets: made here, shown to the portal once, stored encrypted (AES-256-GCM, bound to the
portal) so the worker can sign with them while a copy of the database alone reveals nothing.

The key is the gateway's own (``WEBHOOK_SECRETS_KEY``), used for nothing else. Several keys may be configured
while one is being replaced: the first seals, every one opens, and each sealed secret names its key by id
(``v2.<key id>.<sealed>``). ``reseal`` moves every stored secret to the first key; then the old key can go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.settings import Settings, SettingsError

PREFIX = "whsec_"
_V1 = "v1."  # older versions: one key, no key id, not bound to the portal
_V2 = "v2."
_V1_AAD = b"webhook-secret"
KEY_BYTES = 32


class SecretUnavailable(Exception):
    """A stored secret cannot be opened with the configured keys (its key was removed, or the value is damaged).
    The message names the key id, never the key."""


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_key() -> str:
    """A fresh key for ``WEBHOOK_SECRETS_KEY``: 32 random bytes, base64url."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"dvc-gateway webhook secrets key id:" + key).hexdigest()[:12]


def decode_key(text: str) -> bytes:
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError("WEBHOOK_SECRETS_KEY: each key must be base64 of 32 random bytes") from None
    if len(key) != KEY_BYTES:
        raise SettingsError("WEBHOOK_SECRETS_KEY: each key must be base64 of 32 random bytes")
    return key


def legacy_hub_key(payhub_hash_key: str) -> bytes:
    """The key older versions derived from the hub's checksum key when none was set. Only ``reseal`` uses it,
    to move such secrets to the gateway's own key."""
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"dvc-gateway webhook secrets")
    return derived.derive(payhub_hash_key.encode())


def _aad(portal_id: str) -> bytes:
    return b"webhook-secret:" + portal_id.encode()


class SecretBox:
    def __init__(self, keys: Sequence[bytes], legacy: Sequence[bytes] = ()) -> None:
        if not keys or any(len(k) != KEY_BYTES for k in [*keys, *legacy]):
            raise ValueError("the webhook secrets keys must be 32 bytes each, at least one")
        self._keys = {key_id(k): AESGCM(k) for k in keys}
        self._current = key_id(keys[0])
        self._v1 = [AESGCM(k) for k in [*keys, *legacy]]

    @classmethod
    def from_settings(cls, settings: Settings, legacy: Sequence[bytes] = ()) -> SecretBox:
        keys = [decode_key(k) for k in settings.webhook_secrets_key.split(",") if k.strip()]
        if not keys:
            raise SettingsError(
                "WEBHOOK_SECRETS_KEY (or WEBHOOK_SECRETS_KEY_FILE) is required: base64 of 32 random bytes, "
                "used only for webhook secrets (`gateway webhook-secrets new-key` makes one)"
            )
        return cls(keys, legacy)

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, secret: str, portal_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, secret.encode(), _aad(portal_id))
        return f"{_V2}{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def is_current(self, stored: str) -> bool:
        return stored.startswith(f"{_V2}{self._current}.")

    def open(self, stored: str, portal_id: str) -> str:
        """The secret in clear; :class:`SecretUnavailable` if no configured key opens it."""
        if stored.startswith(_V2):
            kid, _, payload = stored[len(_V2) :].partition(".")
            aead = self._keys.get(kid)
            if aead is None:
                raise SecretUnavailable(f"sealed under key {kid!r}, which is not configured")
            return _decrypt([aead], payload, _aad(portal_id), kid)
        if stored.startswith(_V1):
            return _decrypt(self._v1, stored[len(_V1) :], _V1_AAD, "of an older version")
        raise SecretUnavailable("not a sealed secret")


def _decrypt(candidates: Sequence[AESGCM], payload: str, aad: bytes, kid: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(payload)
    except (binascii.Error, ValueError):
        raise SecretUnavailable(f"damaged value (key {kid})") from None
    for aead in candidates:
        try:
            return aead.decrypt(raw[:12], raw[12:], aad).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            continue
    raise SecretUnavailable(f"no configured key opens it (key {kid})")
