"""Webhook signing secrets: made here, shown to the portal once, stored encrypted (AES-256-GCM) so the worker can
sign with them while a copy of the database alone reveals nothing."""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.settings import Settings

PREFIX = "whsec_"
_VERSION = "v1."
_AAD = b"webhook-secret"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the webhook secrets key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """WEBHOOK_SECRETS_KEY when set; else a key derived from the hub key, so the embedded run needs no setup."""
        if settings.webhook_secrets_key:
            return cls(
                base64.urlsafe_b64decode(settings.webhook_secrets_key + "=" * (-len(settings.webhook_secrets_key) % 4))
            )
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dvc-gateway webhook secrets")
        return cls(derived.derive(settings.payhub_hash_key.encode()))

    def seal(self, secret: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), _AAD)
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(_VERSION):
            raise ValueError("unknown secret format")
        raw = base64.urlsafe_b64decode(stored[len(_VERSION) :])
        return self._aead.decrypt(raw[:12], raw[12:], _AAD).decode()
