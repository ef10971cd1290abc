"""Delivering one claimed batch of a portal's events: send each in order, record every attempt, and move each
event to delivered, to a later retry, or to the dead letters. Failures feed the portal's circuit breaker; once it
opens, the rest of the batch is handed back untried, so a dead portal costs a handful of timeouts, not thousands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.events.model import COLUMNS, body, envelope
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.tables import deliveries as dt
from gateway.store.tables import outbox as ot

from . import endpoints, sender
from .policy import Breaker, RetryPolicy
from .relay import DEAD, DELIVERED, PENDING, SKIPPED, mine, released
from .secret_box import SecretBox
from .sender import AttemptResult
from .transport import WebhookHttp

log = logging.getLogger("gateway.deliveries")

OB = ot.outbox.c
E = dt.webhook_endpoints.c
FLUSH_EVERY = 25  # successes recorded together: a crash re-sends at most this many (receivers dedupe)
SAFETY_SECONDS = 5.0


@dataclass
class BatchReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0
    skipped: int = 0
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
            rows = (
                await conn.execute(select(*COLUMNS, OB.attempts).where(mine(token, positions)).order_by(OB.position))
            ).all()
            target = await endpoints.target(conn, self.box, portal_id, self.clock()) if rows else None
        if not rows:
            return report
        if target is None:
            async with self.db.transaction() as tx:
                result = await tx.execute(
                    update(ot.outbox).where(mine(token, positions)).values(dispatch_state=SKIPPED, **released())
                )
            report.skipped = result.rowcount or 0
            return report
        budget = self.settings.delivery_lease_seconds - self.settings.webhook_timeout_seconds - SAFETY_SECONDS
        deadline = time.monotonic() + max(budget, self.settings.webhook_timeout_seconds)
        blocked: set[str] = set()
        done: list[tuple[Row[Any], AttemptResult, datetime]] = []
        untried: list[int] = []
        stop = False
        for row in rows:
            if stop or row.dossier_code in blocked or time.monotonic() > deadline:
                untried.append(row.position)
                continue
            result = await self._attempt(target, row)
            if result.ok:
                done.append((row, result, self.clock()))
                if len(done) >= FLUSH_EVERY:
                    await self._delivered(target, token, done, report)
                    done = []
                continue
            await self._delivered(target, token, done, report)
            done = []
            blocked.add(row.dossier_code)
            stop = await self._failed(target, token, row, result, report)
        await self._delivered(target, token, done, report)
        if untried:
            async with self.db.transaction() as tx:
                result = await tx.execute(update(ot.outbox).where(mine(token, untried)).values(**released()))
            report.released = result.rowcount or 0
        return report

    async def _attempt(self, target: endpoints.Target, row: Row[Any]) -> AttemptResult:
        """One attempt; whatever goes wrong is a failed attempt to record, never an exception that would leave the
        event pending with nothing in the delivery log."""
        if not target.secrets:
            result = sender.not_signed(target.unsigned)
        else:
            try:
                content = body(envelope(row))
            except Exception as exc:  # recorded as a failed attempt, with the detail in the log
                log.exception("webhook event cannot be encoded", extra={"event_id": row.id})
                result = sender.not_prepared(f"{type(exc).__name__}: {exc}")
            else:
                result = await sender.send(
                    self.http.client(target.allow_private),
                    target.url,
                    target.secrets,
                    row.id,
                    content,
                    timeout=self.settings.webhook_timeout_seconds,
                    max_response_bytes=self.settings.webhook_max_response_bytes,
                )
        sender.record(result, target.portal_id, row.id)
        return result

    async def _delivered(
        self,
        target: endpoints.Target,
        token: str,
        done: list[tuple[Row[Any], AttemptResult, datetime]],
        report: BatchReport,
    ) -> None:
        if not done:
            return
        async with self.db.transaction() as tx:
            await tx.execute(
                dt.delivery_attempts.insert(),
                [_attempt_row(target, row, result, at) for row, result, at in done],
            )
            for row, _, at in done:
                await tx.execute(
                    update(ot.outbox)
                    .where(mine(token, [row.position]))
                    .values(
                        dispatch_state=DELIVERED,
                        delivered_at=at,
                        attempts=OB.attempts + 1,
                        next_attempt_at=None,
                        last_error="",
                        **released(),
                    )
                )
            await tx.execute(
                update(dt.webhook_endpoints)
                .where(
                    E.portal_id == target.portal_id, or_(E.consecutive_failures > 0, E.circuit_open_until.is_not(None))
                )
                .values(consecutive_failures=0, circuit_open_until=None)
            )
        report.delivered += len(done)

    async def _failed(
        self, target: endpoints.Target, token: str, row: Row[Any], result: AttemptResult, report: BatchReport
    ) -> bool:
        """Record the failure; returns whether the portal's circuit is now open (stop sending to it)."""
        now = self.clock()
        attempts = row.attempts + 1
        retry_at = self.retry.next_attempt(attempts, now)
        async with self.db.transaction() as tx:
            await tx.execute(dt.delivery_attempts.insert().values(**_attempt_row(target, row, result, now)))
            await tx.execute(
                update(ot.outbox)
                .where(mine(token, [row.position]))
                .values(
                    dispatch_state=PENDING if retry_at else DEAD,
                    attempts=attempts,
                    next_attempt_at=retry_at,
                    last_error=result.error,
                    **released(),
                )
            )
            opened = await self._trip(tx, target.portal_id, now)
        report.failed += 1
        report.dead += retry_at is None
        report.circuit_opened |= opened
        return opened

    async def _trip(self, tx: AsyncConnection, portal_id: str, now: datetime) -> bool:
        failures = (
            await tx.execute(
                update(dt.webhook_endpoints)
                .where(E.portal_id == portal_id)
                .values(consecutive_failures=E.consecutive_failures + 1)
                .returning(E.consecutive_failures)
            )
        ).scalar_one_or_none()
        open_until = self.breaker.open_until(failures or 0, now)
        if open_until is None:
            return False
        await tx.execute(
            update(dt.webhook_endpoints).where(E.portal_id == portal_id).values(circuit_open_until=open_until)
        )
        # A portal that stays unreachable never lets its queued events reach their last retry: give up on those
        # older than the whole retry schedule, as if each had been tried.
        await tx.execute(
            update(ot.outbox)
            .where(
                OB.portal_id == portal_id,
                OB.dispatch_state == PENDING,
                OB.created_at < now - self.retry.horizon,
                or_(OB.claimed_until.is_(None), OB.claimed_until < now),
            )
            .values(dispatch_state=DEAD, last_error="portal unreachable for the whole retry schedule")
        )
        log.warning("webhook circuit open", extra={"portal_id": portal_id, "until": open_until.isoformat()})
        return True


def _attempt_row(target: endpoints.Target, row: Row[Any], result: AttemptResult, at: datetime) -> dict[str, Any]:
    return {
        "portal_id": target.portal_id,
        "event_id": row.id,
        "attempt": min(row.attempts + 1, 32767),
        "url": target.url,
        "outcome": result.outcome,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error,
        "attempted_at": at,
    }
