"""The portal's webhook controls as use cases: configure the endpoint, rotate its secret, send a test event, read
the delivery log and the dead letters, replay events. The address rules are the sender's own (``urls``,
``addresses``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.events import TEST_TYPE, EventOut, body
from gateway.ids import new_id
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.portals import allows_private_webhooks
from gateway.settings import Settings
from gateway.store.db import Database

from . import addresses, endpoints, presenter, repository, sender, urls
from .policy import Breaker
from .repository import AttemptRecord
from .schemas import AttemptPage, DeadLetterPage, ReplayOut, RotateSecret, TestDelivery, WebhookOut
from .tools import WebhookTools

log = logging.getLogger("gateway.deliveries")


async def _require_endpoint(conn: AsyncConnection, portal_id: str) -> None:
    found = await repository.endpoint(conn, portal_id)
    if found is None or not found.enabled:
        raise Refused("webhook_not_configured", "configure an enabled webhook first (PUT /v1/webhook)")


class WebhookService:
    def __init__(self, db: Database, tools: WebhookTools, settings: Settings) -> None:
        self.db = db
        self.tools = tools
        self.settings = settings
        self.breaker = Breaker.from_settings(settings)

    async def show(self, portal_id: str) -> WebhookOut:
        async with self.db.read() as conn:
            found = await repository.endpoint(conn, portal_id)
        if found is None:
            raise Refused("webhook_not_configured")
        return presenter.webhook(found, self.breaker, now_utc())

    async def allowed_url(self, portal_id: str, url: str) -> str:
        """The save's check, with the sender's parser and the sender's address rules (the sender checks again at
        every connection: what a name resolves to may change)."""
        try:
            found = urls.parse(url)
            if urls.is_gateway(found, self.settings.public_url):
                raise urls.BadUrl("the URL points at the gateway itself")
        except urls.BadUrl as exc:
            raise Refused("webhook_url_refused", str(exc), field="url") from exc
        async with self.db.read() as conn:
            allow_private = await allows_private_webhooks(conn, portal_id)
        try:
            async with asyncio.timeout(self.settings.webhook_connect_timeout):
                await addresses.checked(found.host, found.port, self.tools.http.policy, allow_private)
        except (addresses.AddressRefused, TimeoutError) as exc:
            log.info("webhook URL refused", extra={"portal_id": portal_id, "host": found.host, "detail": str(exc)})
            raise Refused("webhook_url_refused", addresses.REFUSED, field="url") from exc
        return url

    async def configure(self, portal_id: str, url: str, enabled: bool) -> tuple[WebhookOut, bool]:
        """The endpoint, and whether it is new (its signing secret is in the answer, once)."""
        url = await self.allowed_url(portal_id, url)
        now = now_utc()
        async with self.db.unit() as uow:
            found, secret = await endpoints.put(uow.conn, self.tools.box, portal_id, url, enabled, now)
        return presenter.webhook(found, self.breaker, now, secret), bool(secret)

    async def rotate(self, portal_id: str, attempt: Attempt, options: RotateSecret | None) -> WebhookOut:
        """A new signing secret, shown once. A retry of a rotation that was made (its answer lost) shows the secret
        that rotation made, which is the current one: it does not rotate again."""
        if attempt.resume_id is not None:
            return await self._current(portal_id)
        options = options or RotateSecret()
        seconds = self.settings.webhook_secret_overlap_seconds
        overlap = timedelta(seconds=seconds if options.overlap_seconds is None else options.overlap_seconds)
        now = now_utc()
        async with self.db.unit() as uow:
            rotated = await endpoints.rotate(uow.conn, self.tools.box, portal_id, overlap, now)
            if rotated is None:
                raise Refused("webhook_not_configured")
            found, secret = rotated
            await uow.bind(attempt, portal_id)
        return presenter.webhook(found, self.breaker, now, secret)

    async def _current(self, portal_id: str) -> WebhookOut:
        now = now_utc()
        async with self.db.read() as conn:
            found = await repository.endpoint(conn, portal_id)
        if found is None:
            raise Refused("webhook_not_configured")
        return presenter.webhook(found, self.breaker, now, self.tools.box.open(found.secret, portal_id))

    async def test(self, portal_id: str) -> TestDelivery:
        """Send a signed test event now; the portal learns only how its endpoint answered."""
        now = now_utc()
        async with self.db.read() as conn:
            target = await endpoints.target(conn, self.tools.box, portal_id, now)
        if target is None:
            raise Refused("webhook_not_configured", "no enabled webhook endpoint")
        event = EventOut(id=new_id("evt"), type=TEST_TYPE, created_at=now, dossier_code="", sequence=0, data={})
        if target.secrets:
            result = await sender.send(
                self.tools.http.client(target.allow_private),
                target.url,
                target.secrets,
                event.id,
                body(event),
                timeout=self.settings.webhook_timeout_seconds,
                max_response_bytes=self.settings.webhook_max_response_bytes,
            )
        else:
            result = sender.not_signed(target.unsigned)
        sender.record(result, portal_id, event.id)
        record = AttemptRecord(
            portal_id, event.id, 1, target.url, result.outcome, result.status_code, result.latency_ms, result.error, now
        )
        async with self.db.unit() as uow:
            await repository.record_attempts(uow.conn, [record])
        outcome = cast(Literal["delivered", "failed"], result.outcome)
        return TestDelivery(event.id, outcome, result.status_code, result.latency_ms, result.error)

    async def attempts(self, portal_id: str, event_id: str | None, cursor: str | None, limit: int) -> AttemptPage:
        """The delivery log, newest first."""
        after = params.position(cursor, "cursor")
        async with self.db.read() as conn:
            found, next_cursor = await repository.attempts_page(
                conn, portal_id, event_id=event_id, after=after, limit=limit
            )
        return AttemptPage(data=[presenter.attempt(r) for r in found], next_cursor=next_cursor)

    async def dead_letters(self, portal_id: str, cursor: str | None, limit: int) -> DeadLetterPage:
        """The events given up on, newest first."""
        after = params.position(cursor, "cursor")
        async with self.db.read() as conn:
            found, next_cursor = await repository.dead_letters_page(conn, portal_id, after=after, limit=limit)
        return DeadLetterPage(data=[presenter.dead_letter(e, s) for e, s in found], next_cursor=next_cursor)

    async def replay_dead(self, portal_id: str, since: datetime) -> int:
        async with self.db.unit() as uow:
            await _require_endpoint(uow.conn, portal_id)
            return await repository.replay_dead_since(uow.conn, portal_id, since)

    async def replay_one(self, portal_id: str, event_id: str) -> ReplayOut:
        async with self.db.unit() as uow:
            await _require_endpoint(uow.conn, portal_id)
            if not await repository.replay_one(uow.conn, portal_id, event_id):
                raise Refused("not_found", "no such event")
            found = await repository.event_with_state(uow.conn, portal_id, event_id)
            assert found is not None
            return presenter.replayed(*found)
