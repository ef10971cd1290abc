"""The web app's long-lived collaborators, built once from the settings and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from litestar import Request

from adapters.payhub import PayhubClient, PayhubConfig
from adapters.postal import PostalClient, PostalConfig
from gateway.auth import KeyCache
from gateway.deliveries.tools import WebhookTools
from gateway.payments.refunds import RefundService
from gateway.payments.service import PaymentService
from gateway.receipts.keys import AgencyKeys
from gateway.settings import Settings
from gateway.shipments.service import ShipmentService
from gateway.store.db import Database, Limits


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: PayhubClient
    payments: PaymentService
    refunds: RefundService
    key_cache: KeyCache
    post: PostalClient
    shipments: ShipmentService
    redis: ArqRedis | None = None
    webhooks: WebhookTools | None = None
    receipt_keys: AgencyKeys = field(default_factory=lambda: AgencyKeys({}))

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database.from_url(settings.database_url, database_limits(settings))
        hub = PayhubClient(payhub_config(settings))
        post = PostalClient(postal_config(settings))
        return cls(
            settings=settings,
            db=db,
            hub=hub,
            payments=PaymentService(db, hub, settings),
            refunds=RefundService(db, hub),
            key_cache=KeyCache(settings.auth_cache_seconds, settings.auth_cache_fallback_seconds),
            webhooks=WebhookTools.build(settings),
            receipt_keys=AgencyKeys.load(settings.receipt_keys_dir),
            post=post,
            shipments=ShipmentService(db, post),
        )

    async def close(self) -> None:
        await self.hub.aclose()
        if self.webhooks is not None:
            await self.webhooks.aclose()
        await self.post.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


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


def services(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
