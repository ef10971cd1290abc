"""Typed settings, read once from the environment (secrets also from ``<NAME>_FILE``) by both composition roots."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

# A delivery job's last send must end this long before its claim does (the relay may claim the events again then).
DELIVERY_SAFETY_SECONDS = 5.0

SECRETS = ("webhook_secrets_key", "payhub_hash_key", "postal_password", "postal_webhook_secret")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    environment: str = "development"
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True

    # Every wait on the database is bounded, in seconds: connecting, one statement (PostgreSQL's statement_timeout;
    # a server that does not answer at all gets one second more), a free pooled connection, and SQLite's wait for
    # its write lock. Past them a request answers 503 database_unavailable with Retry-After (the value below) and a
    # job is retried. A process opens up to three times database_pool_size connections, as load needs them: twice
    # for its transactions, once for its checked units (store/held.py).
    database_connect_timeout: float = 5.0
    database_statement_timeout: float = 15.0
    database_pool_timeout: float = 5.0
    database_pool_size: int = 10
    database_busy_timeout: float = 30.0
    database_retry_after_seconds: int = 5

    # Redis (the job queue): connect and command timeouts. With Sentinel, REDIS_SENTINELS lists the sentinels
    # (host:port, comma-separated) and REDIS_SENTINEL_MASTER names the master; REDIS_URL then gives only the
    # database number and password.
    redis_timeout_seconds: float = 5.0
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"

    # Readiness (/health/ready): how long each dependency check may take before it counts as down.
    health_check_timeout: float = 2.0
    # On SIGTERM the web server stops accepting connections and the worker stops taking jobs; requests and jobs
    # under way get this many seconds to finish, then are abandoned (an abandoned job runs again, once).
    shutdown_grace_seconds: int = 20
    # A job under way is the worker's for this many seconds at a time, renewed every quarter of it while the worker
    # lives: a worker killed outright frees its jobs for another within this span.
    worker_lease_seconds: int = 60
    # How often a worker asks Redis for queued jobs when it has room for more: a job waits at most this long to
    # start. Every delivery, receipt and status job goes through this wait; a poll is one cheap Redis command.
    worker_poll_seconds: float = 0.05

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
    # The payment return page asks the hub itself when the citizen is back before the hub's callback: within this
    # bound (seconds), and at most once per payment per interval across all processes.
    return_query_timeout_seconds: float = 3.0
    return_query_interval_seconds: int = 5
    janitor_interval_seconds: int = 60
    janitor_batch: int = 200
    idempotency_ttl_seconds: int = 86400
    # How long a request holds its Idempotency-Key: a repeat meanwhile is answered idempotency_in_progress. It must
    # outlast the slowest request (hub and database timeouts); it is what frees the key of a request cut short.
    idempotency_lock_seconds: int = 60

    # The worker's Prometheus metrics (webhook attempts by outcome, among others): served on this address and
    # port when the port is not 0.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 0

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

    # Event delivery to the portals' webhooks. The key encrypts their signing secrets at rest and serves nothing
    # else: base64 of 32 random bytes, required by the web app and the worker (`gateway run` makes one under var/).
    # While replacing it, list the new key first and the old after it, comma-separated (the first seals, all
    # open), run `gateway webhook-secrets reencrypt`, then drop the old one. Retry delays are in seconds,
    # multiplied by the time scale (tests shrink a day of retries to seconds); a portal's circuit opens after a
    # run of failures. A portal has at most `delivery_portal_jobs` delivery jobs at once, so a slow or backlogged
    # portal leaves the worker's other job slots to the others.
    webhook_secrets_key: str = ""
    # Networks counted as private for webhooks (comma-separated CIDRs), in addition to RFC 1918, unique local
    # IPv6 and carrier-grade NAT: reachable only by portals an operator allowed private webhooks
    # (`gateway portal allow-private-webhooks`). For a demo or test stack whose receivers run on loopback; empty
    # (the default) keeps loopback, like link-local and metadata addresses, always refused.
    webhook_private_networks: str = ""
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
    delivery_portal_jobs: int = 4
    delivery_lease_seconds: int = 120
    delivery_breaker_threshold: int = 5
    delivery_breaker_cooldown_seconds: int = 30
    delivery_breaker_max_cooldown_seconds: int = 600

    # Receipts: signing keys (one per agency), the sweeper that issues what the queued jobs missed, and the back-off
    # of a source it cannot issue yet (no key, data a receipt cannot carry): the first wait, doubling per failed
    # attempt up to the ceiling. Such sources are listed by ``gateway receipts unissued``.
    receipt_keys_dir: str = "var/receipt-keys"
    receipt_template: str = "EBL01"
    receipt_sweep_interval_seconds: int = 30
    receipt_sweep_grace_seconds: int = 30  # the sweeper leaves sources collected this recently to their own job
    receipt_batch: int = 100
    receipt_retry_seconds: int = 300
    receipt_retry_max_seconds: int = 6 * 3600
    lookup_rate_limit: int = 30
    lookup_rate_window_seconds: int = 60

    # Finance staff pages (/finance): a sign-in lasts staff_session_hours at most, and ends after
    # staff_idle_minutes without a request; staff_lockout_failures failed sign-ins in a row lock the account for
    # staff_lockout_minutes. One client address may send staff_signin_rate_limit sign-ins per
    # staff_signin_rate_window_seconds (0: no limit), whatever usernames they name: the lock-out guards one
    # account, this guards them all from one address trying a password on each. Counted in Redis (shared by every
    # process; let through, logged, while Redis does not answer). The session cookie is Secure unless
    # staff_cookie_secure is off (http://localhost only).
    staff_session_hours: float = 8.0
    staff_idle_minutes: float = 30.0
    staff_lockout_failures: int = 5
    staff_lockout_minutes: float = 15.0
    staff_signin_rate_limit: int = 20
    staff_signin_rate_window_seconds: int = 900
    staff_cookie_secure: bool = True

    # Reconciliation: raw files (the hub's settlement files, the post's COD statements) are kept under the data
    # directory by their SHA-256, with each run's classified lines. The hub publishes D's file from D+1 01:00
    # Vietnam time; the worker fetches D's file and statement at reconciliation_hour (Vietnam) on D+1, and while
    # the file is not there asks again every reconciliation_retry_seconds, up to reconciliation_max_tries times. A
    # record the hub has not settled is a break after reconciliation_cutoff_days business days (COD:
    # reconciliation_cod_cutoff_days); a record is looked for in later files for reconciliation_lookback_days.
    reconciliation_data_dir: str = "var/reconciliation"
    reconciliation_hour: int = 2
    reconciliation_retry_seconds: int = 900
    reconciliation_max_tries: int = 16
    reconciliation_timeout_seconds: int = 1800
    reconciliation_cutoff_days: int = 2
    reconciliation_cod_cutoff_days: int = 3
    reconciliation_lookback_days: int = 31

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
    if settings.worker_lease_seconds < max(2, 4 * settings.redis_timeout_seconds):
        # renewed every quarter: two renewals may fail, each after waiting out REDIS_TIMEOUT_SECONDS
        raise SettingsError("WORKER_LEASE_SECONDS must be at least 2 and 4 × REDIS_TIMEOUT_SECONDS")
    if not 0 < settings.worker_poll_seconds <= 5:
        raise SettingsError("WORKER_POLL_SECONDS must be more than 0 and at most 5")
    if settings.delivery_lease_seconds <= settings.webhook_timeout_seconds + DELIVERY_SAFETY_SECONDS:
        # no send could start and end within a claim: every delivery job would hand its events back untried
        raise SettingsError(
            f"DELIVERY_LEASE_SECONDS must be more than WEBHOOK_TIMEOUT_SECONDS + {DELIVERY_SAFETY_SECONDS:g}"
        )
    if not settings.payhub_hash_key:
        raise SettingsError("PAYHUB_HASH_KEY (or PAYHUB_HASH_KEY_FILE) is required")
    return settings
