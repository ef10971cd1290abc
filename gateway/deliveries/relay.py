"""Claiming due events for delivery (the worker's relay use case): safe with any number of workers on PostgreSQL
and one on SQLite.

A claim is a conditional UPDATE (still pending, not leased, due) that leases rows to one relay run under a random
token; the delivery job acts only on rows that still carry its token. A run that dies, or whose jobs are lost with
Redis, leaves leases that expire, and the next run claims those rows again: nothing is lost, and an event is sent
twice only when a worker died after sending and before recording (receivers dedupe by event id).

Ordering: an event waits while an earlier event of its dossier is leased or waiting to be retried, so a portal
does not get sequence N+1 long before N; events of one dossier claimed together travel in one job, in order. Claims
take turns (a claim reads and leases in one transaction, one claim at a time), so two relay runs at once, as after a
worker restart, never split a dossier's events between two jobs.

Fairness: claims are made per portal, each capped at ``delivery_portal_jobs`` jobs' worth of events in flight,
and shared round-robin; one portal's backlog or slow endpoint holds its own jobs, never the others' turn.

A delivery job that sent its whole batch claims its portal's next batch itself (``claim(portal_id=…)``, one job's
worth within the same cap, in the same turns, reading that portal's rows only) and queues it, so a backlog drains
without waiting for the relay's next run between batches.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.settings import Settings
from gateway.store.db import Database

from . import repository
from .policy import Breaker
from .state import Chunk, fair_share, held_back, pack


@dataclass(frozen=True)
class ClaimReport:
    chunks: list[Chunk]
    claimed: int
    skipped: int
    full: bool  # there may be more due right now


async def skip_unaddressed(db: Database) -> int:
    """Events of portals with no enabled webhook are not pushed (they stay in the feed, and can be replayed). A
    read first, so the common case takes no write lock."""
    async with db.read() as conn:
        if not await repository.any_unaddressed(conn):
            return 0
    async with db.transaction() as tx:
        return await repository.skip_unaddressed(tx)


async def claim(db: Database, settings: Settings, now: datetime, portal_id: str | None = None) -> ClaimReport:
    """Lease due events portal by portal: each portal gets at most its room (its job cap minus what it has in
    flight), and the claim limit is shared round-robin, oldest portal first. A portal's backlog or slow endpoint
    so fills its own jobs only; another portal's events are claimed on the next poll. With ``portal_id``, that
    portal's next job's worth only (for a delivery job that delivered its batch whole)."""
    skipped = await skip_unaddressed(db) if portal_id is None else 0
    limit = settings.delivery_claim_limit if portal_id is None else settings.delivery_batch_size
    # One claim at a time, its reads and its leases in one transaction: two claims whose reads and leases
    # interleaved could each lease part of a dossier (one its event N while the other, having read before that
    # lease, its event N+1), and two jobs would send them at once, N+1 before N.
    async with db.transaction() as tx:
        await repository.take_claim_turn(tx)
        waiting_for, in_flight = held_back(await repository.held_rows(tx, now, portal_id), now)
        rooms = rooms_of(await repository.circuits_closed(tx, now, portal_id), settings, in_flight)
        if portal_id is not None:
            rooms = {p: min(room, limit) for p, room in rooms.items()}
        extra = settings.delivery_batch_size * max(settings.delivery_portal_jobs, 1)
        candidates = await repository.oldest_due(tx, {p: room + extra for p, room in rooms.items()}, now)
        chosen = fair_share(candidates, waiting_for, rooms, limit)
        if not chosen:
            return ClaimReport([], 0, skipped, False)
        token = secrets.token_hex(16)
        until = now + timedelta(seconds=settings.delivery_lease_seconds)
        rows = await repository.lease(tx, chosen, token, now, until)
    chunks = pack(sorted(rows), token, settings.delivery_batch_size)
    return ClaimReport(chunks, len(rows), skipped, len(chosen) >= limit)


def rooms_of(endpoints: list[tuple[str, int]], settings: Settings, in_flight: dict[str, int]) -> dict[str, int]:
    """How many more events each portal with an enabled endpoint and a closed circuit may have in flight: its
    jobs' worth, or one probe while its circuit is half open."""
    breaker = Breaker.from_settings(settings)
    per_portal = settings.delivery_batch_size * max(settings.delivery_portal_jobs, 1)
    rooms: dict[str, int] = {}
    for portal_id, failures in endpoints:
        room = (1 if breaker.half_open(failures) else per_portal) - in_flight.get(portal_id, 0)
        if room > 0:
            rooms[portal_id] = room
    return rooms
