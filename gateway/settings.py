"""Typed settings, read once from the environment (secrets also from ``<NAME>_FILE``) by both composition roots."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

SECRETS = ("webhook_secrets_key", "payhub_hash_key", "postal_password", "postal_webhook_secret")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    environment: str = "development"
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True

    payhub_url: str = "http://127.0.0.1:8101"
    payhub_partner_code: str = "DVC-DEMO-01"
    payhub_hash_key: str = ""
    payhub_connect_timeout: float = 3.0
    payhub_read_timeout: float = 10.0

    # The post: credentials, the webhook's secrets (comma-separated while rotating; none means every push is
    # refused) and how often the worker polls the status feed.
    postal_url: str = "http://127.0.0.1:8102"
    postal_username: str = ""
    postal_password: str = ""
    postal_customer_code: str = ""
    postal_webhook_secret: str = ""
    postal_connect_timeout: float = 3.0
    postal_read_timeout: float = 10.0
    postal_poll_interval_seconds: int = 10
    postal_page_size: int = 200
    postal_booking_retry_after_seconds: int = 60

    payment_ttl_seconds: int = 3600
    min_payment_ttl_seconds: int = 300
    max_payment_ttl_seconds: int = 7 * 86400
    pending_query_after_seconds: int = 600
    janitor_interval_seconds: int = 60
    janitor_batch: int = 200
    idempotency_ttl_seconds: int = 86400

    max_body_bytes: int = 65536
    # API keys checked are cached per process for up to AUTH_CACHE_SECONDS; a revocation announced through Redis
    # ends that at once. While Redis cannot be read, a cached key is trusted only for AUTH_CACHE_FALLBACK_SECONDS.
    auth_cache_seconds: float = 10.0
    auth_cache_fallback_seconds: float = 2.0
    # Requests per API key per window, shared by every gateway process through Redis (0: no limit); a portal may
    # have its own (``gateway portal rate-limit``). When Redis does not answer, requests go through (logged).
    api_rate_limit: int = 600
    api_rate_window_seconds: int = 60
    queue_name: str = "gateway:queue"

    # Event delivery to the portals' webhooks. The key encrypts their signing secrets at rest (32 bytes, base64;
    # when empty one is derived from PAYHUB_HASH_KEY). Retry delays are in seconds, multiplied by the time scale
    # (tests shrink a day of retries to seconds); a portal's circuit opens after a run of failures.
    webhook_secrets_key: str = ""
    webhook_connect_timeout: float = 3.0
    webhook_timeout_seconds: float = 10.0
    webhook_max_response_bytes: int = 65536
    webhook_secret_overlap_seconds: int = 86400
    delivery_retry_schedule: str = "60,300,300,600,600,600,600,600,3600,3600,3600,3600,3600,21600,21600,21600"
    delivery_time_scale: float = 1.0
    delivery_relay_interval_seconds: int = 1
    delivery_poll_seconds: float = 0.1
    delivery_claim_limit: int = 500
    delivery_batch_size: int = 50
    delivery_lease_seconds: int = 120
    delivery_breaker_threshold: int = 5
    delivery_breaker_cooldown_seconds: int = 30
    delivery_breaker_max_cooldown_seconds: int = 600

    receipt_keys_dir: str = "var/receipt-keys"
    receipt_template: str = "EBL01"
    receipt_sweep_interval_seconds: int = 30
    receipt_batch: int = 100
    lookup_rate_limit: int = 30
    lookup_rate_window_seconds: int = 60

    def __repr__(self) -> str:
        shown = {f: ("***" if f in SECRETS else getattr(self, f)) for f in self.__struct_fields__}
        return f"Settings({shown})"

    @property
    def callback_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/callbacks/payhub"

    @property
    def return_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/payments/return"

    def lookup_url(self, lookup_code: str) -> str:
        """The public receipt lookup page of one receipt: what its QR code opens."""
        return f"{self.public_url.rstrip('/')}/tra-cuu/{lookup_code}"

    @property
    def postal_webhook_secrets(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.postal_webhook_secret.split(",") if s.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(ValueError):
    """A setting is missing or malformed; raised at start, never at the first request."""


def load(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for name in Settings.__struct_fields__:
        key = name.upper()
        if key in env:
            raw[name] = env[key]
        elif f"{key}_FILE" in env:
            raw[name] = Path(env[f"{key}_FILE"]).read_text(encoding="utf-8").strip()
    raw.update(overrides)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    if not settings.payhub_hash_key:
        raise SettingsError("PAYHUB_HASH_KEY (or PAYHUB_HASH_KEY_FILE) is required")
    return settings
