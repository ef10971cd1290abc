"""Claiming due events for delivery: safe with any number of workers on PostgreSQL and one on SQLite.

A claim is a conditional UPDATE (still pending, not leased, due) that leases rows to one relay run under a random
token; the delivery job acts only on rows that still carry its token. A run that dies, or whose jobs are lost with
Redis, leaves leases that expire, and the next run claims those rows again: nothing is lost, and an event is sent
twice only when a worker died after sending and before recording (receivers dedupe by event id).

Ordering: an event waits while an earlier event of its dossier is leased or waiting to be retried, so a portal
does not get sequence N+1 long before N; events of one dossier claimed together travel in one job, in order.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update

from gateway.settings import Settings
from gateway.store import delivery_tables as d
from gateway.store import tables as t
from gateway.store.db import Database

from .policy import Breaker

PENDING, DELIVERED, DEAD, SKIPPED = "pending", "delivered", "dead", "skipped"
PER_PORTAL_CHUNKS = 4  # a portal with a backlog gets at most this many jobs in flight, so others keep their turn

OB = t.outbox.c
E = d.webhook_endpoints.c


@dataclass(frozen=True)
class Chunk:
    portal_id: str
    token: str
    positions: list[int]


@dataclass(frozen=True)
class ClaimReport:
    chunks: list[Chunk]
    claimed: int
    skipped: int
    full: bool  # there may be more due right now


def _due(now: datetime) -> list[object]:
    return [
        OB.dispatch_state == PENDING,
        or_(OB.next_attempt_at.is_(None), OB.next_attempt_at <= now),
        or_(OB.claimed_until.is_(None), OB.claimed_until < now),
    ]


async def skip_unaddressed(db: Database) -> int:
    """Events of portals with no enabled webhook are not pushed (they stay in the feed, and can be replayed)."""
    has_webhook = exists().where(E.portal_id == OB.portal_id, E.enabled.is_(True))
    async with db.read() as conn:
        any_found = (
            await conn.execute(select(OB.position).where(OB.dispatch_state == PENDING, ~has_webhook).limit(1))
        ).first()
    if any_found is None:
        return 0
    async with db.transaction() as tx:
        result = await tx.execute(
            update(t.outbox).where(OB.dispatch_state == PENDING, ~has_webhook).values(dispatch_state=SKIPPED)
        )
    return result.rowcount or 0


async def _held_back(db: Database, now: datetime) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Per dossier, the lowest sequence that is leased or waiting for a retry (later events of the dossier wait
    for it); per portal, how many of its events are leased. One pass over the pending rows, no correlated
    subquery, so the plan does not depend on the table's statistics."""
    async with db.read() as conn:
        rows = await conn.execute(
            select(OB.portal_id, OB.dossier_code, OB.sequence, OB.claimed_until).where(
                OB.dispatch_state == PENDING, or_(OB.attempts > 0, OB.claimed_until >= now)
            )
        )
        first: dict[tuple[str, str], int] = {}
        leased: dict[str, int] = defaultdict(int)
        for portal_id, dossier_code, sequence, claimed_until in rows:
            key = (portal_id, dossier_code)
            first[key] = min(sequence, first.get(key, sequence))
            if claimed_until is not None and claimed_until >= now:
                leased[portal_id] += 1
    return first, leased


async def claim(db: Database, settings: Settings, now: datetime) -> ClaimReport:
    skipped = await skip_unaddressed(db)
    breaker = Breaker.from_settings(settings)
    limit = settings.delivery_claim_limit
    per_portal = settings.delivery_batch_size * PER_PORTAL_CHUNKS
    waiting_for, in_flight = await _held_back(db, now)
    async with db.read() as conn:
        candidates = (
            await conn.execute(
                select(OB.position, OB.portal_id, OB.dossier_code, OB.sequence, E.consecutive_failures)
                .join(d.webhook_endpoints, E.portal_id == OB.portal_id)
                .where(
                    *_due(now),
                    E.enabled.is_(True),
                    or_(E.circuit_open_until.is_(None), E.circuit_open_until <= now),
                )
                .order_by(OB.position)
                .limit(limit)
            )
        ).all()
    chosen: list[int] = []
    taken: dict[str, int] = defaultdict(int)
    for position, portal_id, dossier_code, sequence, failures in candidates:
        earlier = waiting_for.get((portal_id, dossier_code))
        if earlier is not None and earlier < sequence:
            continue
        room = (1 if breaker.half_open(failures) else per_portal) - in_flight.get(portal_id, 0)
        if taken[portal_id] < room:
            taken[portal_id] += 1
            chosen.append(position)
    if not chosen:
        return ClaimReport([], 0, skipped, False)
    token = secrets.token_hex(16)
    async with db.transaction() as tx:
        rows = (
            await tx.execute(
                update(t.outbox)
                .where(OB.position.in_(chosen), *_due(now))
                .values(claim_token=token, claimed_until=now + timedelta(seconds=settings.delivery_lease_seconds))
                .returning(OB.position, OB.portal_id, OB.dossier_code)
            )
        ).all()
    chunks = pack(sorted(rows), token, settings.delivery_batch_size)
    return ClaimReport(chunks, len(rows), skipped, len(candidates) >= limit and len(chosen) == len(candidates))


def pack(rows: list[tuple[int, str, str]], token: str, size: int) -> list[Chunk]:
    """Group claimed rows by portal and dossier, then fill jobs of about ``size`` events; a dossier's events stay
    in one job, in position (= sequence) order."""
    dossiers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, portal_id, dossier_code in rows:
        dossiers[(portal_id, dossier_code)].append(position)
    chunks: list[Chunk] = []
    open_chunk: dict[str, list[int]] = {}
    for (portal_id, _), positions in dossiers.items():
        current = open_chunk.get(portal_id)
        if current is None or (len(current) + len(positions) > size and current):
            current = []
            open_chunk[portal_id] = current
            chunks.append(Chunk(portal_id, token, current))
        current.extend(positions)
    for chunk in chunks:
        chunk.positions.sort()
    return chunks


def released() -> dict[str, object]:
    return {"claim_token": None, "claimed_until": None}


def mine(token: str, positions: list[int]) -> object:
    return and_(OB.position.in_(positions), OB.claim_token == token, OB.dispatch_state == PENDING)
