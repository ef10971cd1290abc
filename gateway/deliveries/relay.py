"""Claiming due events for delivery: safe with any number of workers on PostgreSQL and one on SQLite.

A claim is a conditional UPDATE (still pending, not leased, due) that leases rows to one relay run under a random
token; the delivery job acts only on rows that still carry its token. A run that dies, or whose jobs are lost with
Redis, leaves leases that expire, and the next run claims those rows again: nothing is lost, and an event is sent
twice only when a worker died after sending and before recording (receivers dedupe by event id).

Ordering: an event waits while an earlier event of its dossier is leased or waiting to be retried, so a portal
does not get sequence N+1 long before N; events of one dossier claimed together travel in one job, in order.

Fairness: claims are made per portal, each capped at ``delivery_portal_jobs`` jobs' worth of events in flight,
and shared round-robin; one portal's backlog or slow endpoint holds its own jobs, never the others' turn.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, exists, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.tables import deliveries as dt
from gateway.store.tables import outbox as ot

from .policy import Breaker

PENDING, DELIVERED, DEAD, SKIPPED = "pending", "delivered", "dead", "skipped"
PORTALS_PER_QUERY = 50  # portals whose due events one statement reads (SQLite allows 500 parts in a UNION)

OB = ot.outbox.c
E = dt.webhook_endpoints.c


class Candidate(NamedTuple):
    position: int
    dossier_code: str
    sequence: int


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
            update(ot.outbox).where(OB.dispatch_state == PENDING, ~has_webhook).values(dispatch_state=SKIPPED)
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
    """Lease due events portal by portal: each portal gets at most its room (its job cap minus what it has in
    flight), and the claim limit is shared round-robin, oldest portal first. A portal's backlog or slow endpoint
    so fills its own jobs only; another portal's events are claimed on the next poll."""
    skipped = await skip_unaddressed(db)
    waiting_for, in_flight = await _held_back(db, now)
    async with db.read() as conn:
        rooms = await _rooms(conn, settings, in_flight, now)
        candidates = await _oldest_due(conn, rooms, settings, now)
    chosen = fair_share(candidates, waiting_for, rooms, settings.delivery_claim_limit)
    if not chosen:
        return ClaimReport([], 0, skipped, False)
    token = secrets.token_hex(16)
    async with db.transaction() as tx:
        rows = (
            await tx.execute(
                update(ot.outbox)
                .where(OB.position.in_(chosen), *_due(now))
                .values(claim_token=token, claimed_until=now + timedelta(seconds=settings.delivery_lease_seconds))
                .returning(OB.position, OB.portal_id, OB.dossier_code)
            )
        ).all()
    chunks = pack(sorted(rows), token, settings.delivery_batch_size)
    return ClaimReport(chunks, len(rows), skipped, len(chosen) >= settings.delivery_claim_limit)


async def _rooms(conn: AsyncConnection, settings: Settings, in_flight: dict[str, int], now: datetime) -> dict[str, int]:
    """How many more events each portal with an enabled endpoint and a closed circuit may have in flight: its
    jobs' worth, or one probe while its circuit is half open."""
    breaker = Breaker.from_settings(settings)
    per_portal = settings.delivery_batch_size * max(settings.delivery_portal_jobs, 1)
    endpoints = await conn.execute(
        select(E.portal_id, E.consecutive_failures).where(
            E.enabled.is_(True), or_(E.circuit_open_until.is_(None), E.circuit_open_until <= now)
        )
    )
    rooms: dict[str, int] = {}
    for portal_id, failures in endpoints:
        room = (1 if breaker.half_open(failures) else per_portal) - in_flight.get(portal_id, 0)
        if room > 0:
            rooms[portal_id] = room
    return rooms


async def _oldest_due(
    conn: AsyncConnection, rooms: dict[str, int], settings: Settings, now: datetime
) -> dict[str, list[Candidate]]:
    """Each portal's oldest due events, a window a little larger than its room (some may wait behind an earlier
    event of their dossier): one indexed range per portal, several portals per statement."""
    found: dict[str, list[Candidate]] = defaultdict(list)
    portals = sorted(rooms)
    extra = settings.delivery_batch_size * max(settings.delivery_portal_jobs, 1)
    for start in range(0, len(portals), PORTALS_PER_QUERY):
        parts = [
            select(OB.position, OB.portal_id, OB.dossier_code, OB.sequence)
            .where(OB.portal_id == portal_id, *_due(now))
            .order_by(OB.position)
            .limit(rooms[portal_id] + extra)
            .subquery()
            for portal_id in portals[start : start + PORTALS_PER_QUERY]
        ]
        query = union_all(*(select(part) for part in parts)) if len(parts) > 1 else select(parts[0])
        for position, portal_id, dossier_code, sequence in await conn.execute(query):
            found[portal_id].append(Candidate(position, dossier_code, sequence))
    return found


def fair_share(
    candidates: dict[str, list[Candidate]],
    waiting_for: dict[tuple[str, str], int],
    rooms: dict[str, int],
    limit: int,
) -> list[int]:
    """The positions to lease: per portal, its due events in order that do not wait behind an earlier event of
    their dossier, up to its room; then one from each portal in turn (the portal with the oldest event first)
    until ``limit``. Pure, so fairness is tested without a database."""
    queues: dict[str, list[int]] = {}
    for portal_id, rows in candidates.items():
        eligible = []
        for row in sorted(rows):
            earlier = waiting_for.get((portal_id, row.dossier_code))
            if earlier is None or earlier >= row.sequence:
                eligible.append(row.position)
        if eligible:
            queues[portal_id] = eligible[: rooms.get(portal_id, 0)]
    order = sorted((p for p in queues if queues[p]), key=lambda p: queues[p][0])
    chosen: list[int] = []
    depth = 0
    while len(chosen) < limit and order:
        order = [p for p in order if depth < len(queues[p])]
        for portal_id in order[: limit - len(chosen)]:
            chosen.append(queues[portal_id][depth])
        depth += 1
    return chosen


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
