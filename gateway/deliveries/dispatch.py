"""Delivering one claimed batch of a portal's events (the worker's delivery use case): send each in order, record
every attempt, and move each event to delivered, to a later retry, or to the dead letters. Failures feed the
portal's circuit breaker; once it opens, the rest of the batch is handed back untried, so a dead portal costs a
handful of timeouts, not thousands.

The report says whether the batch was delivered whole: its job then queues the portal's next batch at once
(``jobs``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.events import body, envelope
from gateway.settings import DELIVERY_SAFETY_SECONDS as SAFETY_SECONDS
from gateway.settings import Settings
from gateway.store.db import Database

from . import endpoints, repository, sender
from .endpoints import Target
from .policy import Breaker, RetryPolicy
from .repository import AttemptRecord, QueuedEvent
from .secret_box import SecretBox
from .sender import AttemptResult
from .transport import WebhookHttp

log = logging.getLogger("gateway.deliveries")

FLUSH_EVERY = 25  # successes recorded together: a crash re-sends at most this many (receivers dedupe)
UNREACHABLE = "portal unreachable for the whole retry schedule"

Sent = tuple[QueuedEvent, AttemptResult, datetime]


@dataclass
class BatchReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0
    skipped: int = 0
    whole: bool = False  # every event of the batch was delivered
    circuit_opened: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class Delivery:
    db: Database
    http: WebhookHttp
    box: SecretBox
    settings: Settings
    clock: Callable[[], datetime] = now_utc

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    @property
    def breaker(self) -> Breaker:
        return Breaker.from_settings(self.settings)

    async def run(self, portal_id: str, token: str, positions: list[int]) -> BatchReport:
        report = BatchReport()
        async with self.db.read() as conn:
            queued = await repository.claimed(conn, token, positions)
            target = await endpoints.target(conn, self.box, portal_id, self.clock()) if queued else None
        if not queued:
            return report
        if target is None:
            async with self.db.transaction() as tx:
                report.skipped = await repository.skip_claimed(tx, token, positions)
            return report
        untried = await self._send_all(target, token, queued, report)
        if untried:
            async with self.db.transaction() as tx:
                report.released = await repository.release(tx, token, untried)
        report.whole = report.delivered == len(queued)
        return report

    def _budget(self, queued: list[QueuedEvent]) -> float:
        """Seconds in which a send may still start: it must end before the claim does, counted from the claim's
        end, not from the job's start (a job started late, after a worker was killed or a backlog, has less), or
        the relay could hand the same events to another job while this one still sends them."""
        timeout = self.settings.webhook_timeout_seconds
        full = self.settings.delivery_lease_seconds - timeout - SAFETY_SECONDS  # > 0: settings.load checks it
        claim_left = (min(item.claimed_until for item in queued) - self.clock()).total_seconds()
        return min(full, claim_left - timeout - SAFETY_SECONDS)

    async def _send_all(self, target: Target, token: str, queued: list[QueuedEvent], report: BatchReport) -> list[int]:
        """Send in order until the time budget runs out or the circuit opens; a failed event holds back the rest
        of its dossier. Returns the positions left untried."""
        deadline = time.monotonic() + self._budget(queued)
        blocked: set[str] = set()
        done: list[Sent] = []
        untried: list[int] = []
        stop = False
        for item in queued:
            event = item.event
            if stop or event.dossier_code in blocked or time.monotonic() > deadline:
                untried.append(event.position)
                continue
            result = await self._attempt(target, item)
            if result.ok:
                done.append((item, result, self.clock()))
                if len(done) >= FLUSH_EVERY:
                    await self._delivered(target, token, done, report)
                    done = []
                continue
            await self._delivered(target, token, done, report)
            done = []
            blocked.add(event.dossier_code)
            stop = await self._failed(target, token, item, result, report)
        await self._delivered(target, token, done, report)
        return untried

    async def _attempt(self, target: Target, item: QueuedEvent) -> AttemptResult:
        """One attempt; whatever goes wrong is a failed attempt to record, never an exception that would leave the
        event pending with nothing in the delivery log."""
        event = item.event
        if not target.secrets:
            result = sender.not_signed(target.unsigned)
        else:
            try:
                content = body(envelope(event))
            except Exception as exc:  # recorded as a failed attempt, with the detail in the log
                log.exception("webhook event cannot be encoded", extra={"event_id": event.id})
                result = sender.not_prepared(f"{type(exc).__name__}: {exc}")
            else:
                result = await sender.send(
                    self.http.client(target.allow_private),
                    target.url,
                    target.secrets,
                    event.id,
                    content,
                    timeout=self.settings.webhook_timeout_seconds,
                    max_response_bytes=self.settings.webhook_max_response_bytes,
                )
        sender.record(result, target.portal_id, event.id)
        return result

    async def _delivered(self, target: Target, token: str, done: list[Sent], report: BatchReport) -> None:
        if not done:
            return
        async with self.db.transaction() as tx:
            await repository.record_attempts(
                tx, [attempt_record(target, item, result, at) for item, result, at in done]
            )
            await repository.mark_delivered(tx, token, [(item.event.position, at) for item, _, at in done])
            await repository.close_circuit(tx, target.portal_id)
        report.delivered += len(done)

    async def _failed(
        self, target: Target, token: str, item: QueuedEvent, result: AttemptResult, report: BatchReport
    ) -> bool:
        """Record the failure; returns whether the portal's circuit is now open (stop sending to it)."""
        now = self.clock()
        attempts = item.attempts + 1
        retry_at = self.retry.next_attempt(attempts, now)
        async with self.db.transaction() as tx:
            await repository.record_attempts(tx, [attempt_record(target, item, result, now)])
            await repository.mark_failed(tx, token, item.event.position, attempts, retry_at, result.error)
            opened = await self._trip(tx, target.portal_id, now)
        report.failed += 1
        report.dead += retry_at is None
        report.circuit_opened |= opened
        return opened

    async def _trip(self, tx: AsyncConnection, portal_id: str, now: datetime) -> bool:
        failures = await repository.count_failure(tx, portal_id)
        open_until = self.breaker.open_until(failures, now)
        if open_until is None:
            return False
        await repository.open_circuit(tx, portal_id, open_until)
        # A portal that stays unreachable never lets its queued events reach their last retry: give up on those
        # older than the whole retry schedule, as if each had been tried.
        await repository.give_up_older(tx, portal_id, now - self.retry.horizon, now, UNREACHABLE)
        log.warning("webhook circuit open", extra={"portal_id": portal_id, "until": open_until.isoformat()})
        return True


def attempt_record(target: Target, item: QueuedEvent, result: AttemptResult, at: datetime) -> AttemptRecord:
    return AttemptRecord(
        portal_id=target.portal_id,
        event_id=item.event.id,
        attempt=min(item.attempts + 1, 32767),
        url=target.url,
        outcome=result.outcome,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        attempted_at=at,
    )
