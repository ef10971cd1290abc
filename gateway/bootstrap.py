"""The one composition root: the graph of long-lived collaborators, built once from the settings, the same for the
web app (handed to handlers by Litestar's dependency injection) and for the worker (kept in the job context)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from adapters.payhub import PayhubClient, PayhubConfig
from adapters.postal import PostalClient, PostalConfig
from adapters.vntime import now_utc
from gateway import broker, portals
from gateway.deliveries import WebhookService, WebhookTools
from gateway.http import ratelimit
from gateway.http.auth import KeyCache
from gateway.http.ratelimit import Counted, RateLimiter
from gateway.jobs import JobQueue, redis_key
from gateway.kernel.portal import PortalContext
from gateway.payments import PaymentCollections
from gateway.payments.callbacks import HubCallbacks
from gateway.payments.refunds import RefundService
from gateway.payments.results import HubResults
from gateway.payments.service import PaymentService
from gateway.receipts import trust
from gateway.receipts.issuance import ReceiptIssuer
from gateway.receipts.keys import AgencyKeys
from gateway.receipts.refunded import RefundFollowUp
from gateway.receipts.service import ReceiptService
from gateway.reconciliation import CodRuns, Run, SettlementRuns
from gateway.settings import Settings
from gateway.shipments import CodCollections
from gateway.shipments.service import ShipmentService
from gateway.shipments.tracking import PostalTracking
from gateway.staff import Passwords, SessionPolicy, StaffSessions
from gateway.store.db import Database, Limits


@dataclass
class Container:
    settings: Settings
    db: Database
    hub: PayhubClient
    post: PostalClient
    jobs: JobQueue
    hub_results: HubResults
    hub_callbacks: HubCallbacks
    payments: PaymentService
    refunds: RefundService
    shipments: ShipmentService
    key_cache: KeyCache
    api_limiter: RateLimiter
    lookup_limiter: RateLimiter
    signin_limiter: RateLimiter
    webhooks: WebhookTools
    hooks: WebhookService
    receipt_keys: AgencyKeys
    receipts: ReceiptService
    receipt_issuer: ReceiptIssuer
    receipt_refunds: RefundFollowUp
    staff_sessions: StaffSessions
    settlement_runs: SettlementRuns
    cod_runs: CodRuns
    redis: ArqRedis | None = None

    @classmethod
    def build(cls, settings: Settings) -> Container:
        db = Database.from_url(settings.database_url, database_limits(settings))
        hub = PayhubClient(payhub_config(settings))
        post = PostalClient(postal_config(settings))
        jobs = JobQueue()
        hub_results = HubResults(db, on_collected=jobs.issue_receipt)
        keys = AgencyKeys.load(settings.receipt_keys_dir)
        tools = WebhookTools.build(settings)
        # money collected reaches receipts through the sources its collecting areas provide, and is announced
        # (after it committed) to the receipt queue
        paid, cod = PaymentCollections(), CodCollections()
        tracking = PostalTracking(db, on_collected=jobs.issue_receipt)
        return cls(
            settings=settings,
            db=db,
            hub=hub,
            post=post,
            jobs=jobs,
            hub_results=hub_results,
            hub_callbacks=HubCallbacks(settings, hub_results),
            payments=PaymentService(db, hub, hub_results, settings),
            refunds=RefundService(db, hub),
            shipments=ShipmentService(db, post, tracking),
            key_cache=KeyCache(settings.auth_cache_seconds, settings.auth_cache_fallback_seconds),
            api_limiter=RateLimiter(
                redis_key(settings, "api-rate"), settings.api_rate_limit, settings.api_rate_window_seconds
            ),
            lookup_limiter=RateLimiter(
                redis_key(settings, "lookup-rate"), settings.lookup_rate_limit, settings.lookup_rate_window_seconds
            ),
            signin_limiter=RateLimiter(
                redis_key(settings, "signin-rate"),
                settings.staff_signin_rate_limit,
                settings.staff_signin_rate_window_seconds,
            ),
            webhooks=tools,
            hooks=WebhookService(db, tools, settings),
            receipt_keys=keys,
            receipts=ReceiptService(db, keys, settings),
            receipt_issuer=ReceiptIssuer(db, keys, settings, (paid, cod)),
            receipt_refunds=RefundFollowUp(db, keys, settings, paid),
            staff_sessions=StaffSessions(db, Passwords(), SessionPolicy.from_settings(settings)),
            settlement_runs=settlement_runs(db, hub, settings, jobs),
            cod_runs=CodRuns(db, post, settings),
        )

    async def authenticate(self, token: str) -> PortalContext | None:
        """The portal an API key belongs to (the HTTP edge's key check)."""
        return await portals.authenticate(self.db, token)

    async def revocation_count(self) -> int | None:
        """The revocation counter every process reads, None when Redis does not answer."""
        return await portals.revocation_count(self.redis, self.settings.queue_name)

    async def admit(self, key_id: str, limit: int | None) -> tuple[int | None, Counted | None]:
        """For a request with a cached API key: the revocation counter (None when Redis does not answer) and, when
        the key's requests are limited, the request counted against its budget, in one Redis round trip."""
        redis, limiter = self.redis, self.api_limiter
        if redis is None or not limiter.applies(redis, limit):
            return await self.revocation_count(), None
        try:
            async with asyncio.timeout(ratelimit.TIMEOUT_SECONDS), redis.pipeline(transaction=True) as pipe:
                counter = portals.read_revocations_in(pipe, self.settings.queue_name)
                counting = limiter.count_in(pipe, key_id)
                answers = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as error:  # both fail open, each saying so
            return portals.revocations_unreadable(error), limiter.unanswered(key_id, error)
        return counter(answers), counting(answers)

    async def start(self, redis: ArqRedis | None = None) -> None:
        """Connect to Redis (or take the worker's connection) and record the receipt certificates loaded."""
        self.redis = redis if redis is not None else broker.connect(self.settings)
        self.jobs.redis = self.redis
        await trust.record_loaded(self.db, self.receipt_keys, now_utc())

    async def close(self, *, own_redis: bool = True) -> None:
        await self.jobs.drain()  # the receipts asked for so far, queued before Redis goes
        await self.hub.aclose()
        await self.webhooks.aclose()
        await self.post.aclose()
        if self.redis is not None and own_redis:
            await self.redis.aclose()
        await self.db.dispose()


def settlement_runs(db: Database, hub: PayhubClient, settings: Settings, jobs: JobQueue) -> SettlementRuns:
    """The settlement runs, each completed one followed by the automatic resolution of its breaks (queued)."""

    async def resolve(run: Run) -> None:
        await jobs.resolve_breaks(run.id)

    return SettlementRuns(db, hub, settings, on_completed=resolve)


def database_limits(settings: Settings) -> Limits:
    return Limits(
        connect=settings.database_connect_timeout,
        statement=settings.database_statement_timeout,
        pool=settings.database_pool_timeout,
        pool_size=settings.database_pool_size,
        busy=settings.database_busy_timeout,
    )


def payhub_config(settings: Settings) -> PayhubConfig:
    return PayhubConfig(
        base_url=settings.payhub_url,
        partner_code=settings.payhub_partner_code,
        hash_key=settings.payhub_hash_key,
        connect_timeout=settings.payhub_connect_timeout,
        read_timeout=settings.payhub_read_timeout,
    )


def postal_config(settings: Settings) -> PostalConfig:
    return PostalConfig(
        base_url=settings.postal_url,
        username=settings.postal_username,
        password=settings.postal_password,
        customer_code=settings.postal_customer_code,
        connect_timeout=settings.postal_connect_timeout,
        read_timeout=settings.postal_read_timeout,
    )
